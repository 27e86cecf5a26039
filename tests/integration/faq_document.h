// A small FAQ-like document for the pretrained views' end-to-end tests:
// paragraphs none of which shares a content word with the questions the
// tests ask ("How can I lower my power costs?"), so only meaning finds the
// answer.
#ifndef ATTNR_TESTS_INTEGRATION_FAQ_DOCUMENT_H_
#define ATTNR_TESTS_INTEGRATION_FAQ_DOCUMENT_H_

#include <string>

#include "absl/strings/str_cat.h"

namespace attnr {

inline constexpr const char* kFaqParagraphs[] = {
    "The cat sat on the windowsill watching birds in the garden.",
    "To reduce your electricity bill, switch off appliances at the wall and "
    "use LED bulbs.",
    "Python lists are sorted in place by the sort method.",
    "The museum opens at nine on weekdays and at ten on Sundays.",
    "Our football team trains every Tuesday evening on the north field.",
};

// `first_line` (make it unique to start with an uncached document), then
// the paragraphs.
inline std::string FaqDocument(const std::string& first_line) {
  std::string doc = first_line + "\n\n";
  for (const char* p : kFaqParagraphs) absl::StrAppend(&doc, p, "\n\n");
  return doc;
}

}  // namespace attnr

#endif  // ATTNR_TESTS_INTEGRATION_FAQ_DOCUMENT_H_

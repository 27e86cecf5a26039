#ifndef ATTNR_MODEL_TEXT_SENTENCE_SPLITTER_H_
#define ATTNR_MODEL_TEXT_SENTENCE_SPLITTER_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace attnr::text {

// What kind of block a sentence came from. Headings start passages; code is
// kept whole (a fenced block is one unit, split only by the token cap).
enum class SentenceKind { kProse, kHeading, kListItem, kCode };

// A sentence as a byte range of the document, trimmed of surrounding
// whitespace. `starts_block` marks the first sentence after a blank line,
// heading, list item start or code fence: a soft passage boundary.
struct SentenceBounds {
  uint32_t begin_byte = 0;
  uint32_t end_byte = 0;
  SentenceKind kind = SentenceKind::kProse;
  bool starts_block = false;
};

// Splits valid UTF-8 text into sentences. Handles, beyond ". ! ?":
//   - abbreviations (Mr., e.g., i.e., etc., Fig. 3, U.S.), initials (J. Smith),
//     decimals (3.14), ellipses and closing quotes/brackets after the stop;
//   - blank-line-separated paragraphs, CRLF and lone CR line ends;
//   - Markdown headings (#, setext underlines) and short title lines;
//   - list items (-, *, +, bullets, "1." / "a)" numbering), one per item;
//   - fenced code blocks (``` or ~~~), kept as one unit each.
// Hard-wrapped lines inside a paragraph are joined, not split.
// With max_sentences > 0 it stops once it has found more than that many
// (returning them), so refusing a text with too many sentences costs time
// and memory proportional to the limit.
std::vector<SentenceBounds> SplitSentences(absl::string_view text,
                                           size_t max_sentences = 0);

}  // namespace attnr::text

#endif  // ATTNR_MODEL_TEXT_SENTENCE_SPLITTER_H_

#ifndef ATTNR_MODEL_SCORING_TERM_ANALYZER_H_
#define ATTNR_MODEL_SCORING_TERM_ANALYZER_H_

#include <string>

#include "absl/strings/string_view.h"

struct sb_stemmer;

namespace attnr::scoring {

// Turns a normalised token into an index term: English stopwords are dropped
// (returns ""), everything else is reduced by the Snowball English stemmer
// (libstemmer), so "configuring" and "configured" meet at "configur".
// Not thread-safe (libstemmer keeps state per stemmer): use one per thread.
class TermAnalyzer {
 public:
  TermAnalyzer();
  ~TermAnalyzer();
  TermAnalyzer(const TermAnalyzer&) = delete;
  TermAnalyzer& operator=(const TermAnalyzer&) = delete;

  // The index term for `norm` (a Token::norm), or "" for a stopword.
  std::string Term(absl::string_view norm);

  static bool IsStopword(absl::string_view norm);

 private:
  sb_stemmer* stemmer_;
};

}  // namespace attnr::scoring

#endif  // ATTNR_MODEL_SCORING_TERM_ANALYZER_H_

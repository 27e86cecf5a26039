#ifndef ATTNR_MODEL_SCORING_LEXICAL_VIEW_H_
#define ATTNR_MODEL_SCORING_LEXICAL_VIEW_H_

#include <cstdint>
#include <string>
#include <vector>

#include "model/scoring/bm25_index.h"
#include "model/text/tokenizer.h"

namespace attnr::scoring {

// A scoring unit: tokens [token_begin, token_end) of one token sequence.
struct TokenSlice {
  const std::vector<text::Token>* tokens = nullptr;
  uint32_t token_begin = 0;
  uint32_t token_end = 0;
};

struct LexicalScores {
  std::vector<double> scores;  // One per unit.
  // Per unit, the query words (as the query wrote them, lower-cased) whose
  // term occurs in the unit; filled only when asked for.
  std::vector<std::vector<std::string>> matched_terms;
};

// The lexical view: BM25 between the query and each unit, with the units
// themselves as the collection (so IDF is "in-document": a term frequent in
// this document says little about where the answer is). Snowball stemming
// and stopword removal via TermAnalyzer.
LexicalScores ScoreLexical(const std::vector<text::Token>& query,
                           const std::vector<TokenSlice>& units,
                           bool with_matched_terms, Bm25Params params = {});

}  // namespace attnr::scoring

#endif  // ATTNR_MODEL_SCORING_LEXICAL_VIEW_H_

#ifndef ATTNR_MODEL_SCORING_DOCUMENT_TERMS_H_
#define ATTNR_MODEL_SCORING_DOCUMENT_TERMS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "model/text/tokenizer.h"

namespace attnr::scoring {

// A token sequence's index terms (TermAnalyzer: stopwords dropped, Snowball
// stems), computed once per analyzed document and cached with it, so a
// repeated document is never stemmed again and every request's BM25 only
// looks terms up.
class DocumentTerms {
 public:
  static constexpr uint32_t kNoTerm = UINT32_MAX;

  // Indexes `tokens` (stemming each distinct norm once).
  explicit DocumentTerms(const std::vector<text::Token>& tokens);

  // The id of index term `term` (a TermAnalyzer::Term), or kNoTerm when the
  // sequence does not contain it.
  uint32_t IdOf(absl::string_view term) const;

  // Occurrences of term `id` among tokens [begin, end).
  uint32_t Count(uint32_t id, uint32_t begin, uint32_t end) const;

  // Index terms (stopwords excluded) among tokens [begin, end): BM25's
  // unit length.
  uint32_t Length(uint32_t begin, uint32_t end) const {
    return terms_before_[end] - terms_before_[begin];
  }

  size_t token_count() const { return terms_before_.size() - 1; }
  size_t bytes() const;

 private:
  absl::flat_hash_map<std::string, uint32_t> ids_;
  // Per term id, the token indices where it occurs, ascending.
  std::vector<std::vector<uint32_t>> positions_;
  // terms_before_[i]: index terms among tokens [0, i).
  std::vector<uint32_t> terms_before_;
};

}  // namespace attnr::scoring

#endif  // ATTNR_MODEL_SCORING_DOCUMENT_TERMS_H_

#ifndef ATTNR_MODEL_SCORING_ATTENTION_SCORER_H_
#define ATTNR_MODEL_SCORING_ATTENTION_SCORER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/scoring/token_slice.h"
#include "model/text/tokenizer.h"

namespace attnr::scoring {

struct AttentionViewParams {
  // A unit's attention from one query token is the mean of its top_tokens
  // largest masses (a unit with fewer tokens counts the missing ones as 0).
  uint32_t top_tokens = 2;
  // Weight of the even spread in each query token's smoothed density, in
  // (0, 1]: how little a query token that finds nothing in a unit costs it.
  double background = 0.2;
};

// The attention view's unit scores, from the attention mass each query token
// pays each document token (network::AttentionModel's read-out). For query
// token j with read-out weight w_j, over N document tokens in all:
//   density_j(u) = top_tokens-mean of u's masses in row j / (w_j / N)
// (1 where the token's attention is spread evenly), and
//   score(u) = exp(sum_j w_j log((1 - background) density_j(u) + background)),
// a weighted geometric mean over the query's tokens.
// Why not the summed mass (what the model is trained on): the sum grows with
// a unit's length and lets a single query token carry it. Peaks ask where a
// token's attention lands, whatever the unit's length; the geometric mean
// asks a unit to draw attention from the query's tokens together, as BM25
// rewards a unit for matching several terms. It ranked better than the sum
// on the training corpus's held-out split (never the dev sets;
// bench/results/ATTENTION_VIEW.md has the sweep).
class AttentionViewScorer {
 public:
  // Scores units[0, scored); `total_tokens` is N, the tokens of every
  // sequence the units slice. With `query` (the tokens the rows belong to),
  // it also keeps each unit's attended terms.
  AttentionViewScorer(const std::vector<TokenSlice>& units, size_t scored,
                      size_t total_tokens, AttentionViewParams params,
                      const std::vector<text::Token>* query = nullptr);

  // Adds query tokens [first_query, first_query + queries)'s rows for one
  // sequence: `rows` is [queries x sequence->size()], `weights` each row's
  // w_j.
  void AddRows(const std::vector<text::Token>* sequence, size_t first_query,
               const float* rows, size_t queries, const float* weights);

  // One score per unit, > 0; 0 for a unit with no tokens.
  std::vector<double> Scores() const;

  // The reason a unit scored: the query words (lower-cased, each once) whose
  // attention raises its score by at least 5% (a log-score term of 0.05 or
  // more), largest first, at most kMaxAttendedTerms. Empty without `query`.
  static constexpr size_t kMaxAttendedTerms = 5;
  std::vector<std::string> AttendedTerms(size_t unit) const;

 private:
  std::vector<TokenSlice> units_;
  double total_tokens_;
  AttentionViewParams params_;
  // The units of each sequence.
  absl::flat_hash_map<const std::vector<text::Token>*, std::vector<uint32_t>>
      by_sequence_;
  std::vector<double> log_scores_;
  const std::vector<text::Token>* query_;
  // Per unit, (log-score term, query token) for terms of 0.05 or more.
  std::vector<std::vector<std::pair<double, uint32_t>>> reasons_;
};

}  // namespace attnr::scoring

#endif  // ATTNR_MODEL_SCORING_ATTENTION_SCORER_H_

#ifndef ATTNR_MODEL_SCORING_BM25_INDEX_H_
#define ATTNR_MODEL_SCORING_BM25_INDEX_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace attnr::scoring {

struct Bm25Params {
  double k1 = 1.2;
  double b = 0.75;
};

// Okapi BM25 over a small in-memory collection of units (the passages of one
// request), with the Lucene IDF log(1 + (N - df + 0.5) / (df + 0.5)), which
// stays positive for terms in most units. Built per request: the service is
// stateless, and a 200k-token document indexes in milliseconds.
class Bm25Index {
 public:
  // units[i] lists the term ids of unit i (repeats count as frequency).
  Bm25Index(const std::vector<std::vector<uint32_t>>& units,
            Bm25Params params = {});

  // One score per unit. Repeated query terms count once per occurrence.
  std::vector<double> Score(const std::vector<uint32_t>& query_terms) const;

  // Inverse document frequency of `term` in this collection.
  double Idf(uint32_t term) const;

  size_t unit_count() const { return unit_lengths_.size(); }

 private:
  struct Posting {
    uint32_t unit;
    uint32_t tf;
  };
  Bm25Params params_;
  std::vector<uint32_t> unit_lengths_;
  double average_length_ = 0;
  absl::flat_hash_map<uint32_t, std::vector<Posting>> postings_;
};

}  // namespace attnr::scoring

#endif  // ATTNR_MODEL_SCORING_BM25_INDEX_H_

#include "model/scoring/bm25_index.h"

#include <cmath>

namespace attnr::scoring {

Bm25Index::Bm25Index(const std::vector<std::vector<uint32_t>>& units,
                     Bm25Params params)
    : params_(params) {
  unit_lengths_.reserve(units.size());
  uint64_t total = 0;
  absl::flat_hash_map<uint32_t, uint32_t> counts;
  for (uint32_t u = 0; u < units.size(); ++u) {
    unit_lengths_.push_back(static_cast<uint32_t>(units[u].size()));
    total += units[u].size();
    counts.clear();
    for (uint32_t term : units[u]) ++counts[term];
    for (const auto& [term, tf] : counts) postings_[term].push_back({u, tf});
  }
  average_length_ =
      units.empty() ? 0.0 : static_cast<double>(total) / units.size();
}

double Bm25Index::Idf(uint32_t term) const {
  auto it = postings_.find(term);
  const double df = it == postings_.end() ? 0.0 : it->second.size();
  const double n = static_cast<double>(unit_lengths_.size());
  return std::log(1.0 + (n - df + 0.5) / (df + 0.5));
}

std::vector<double> Bm25Index::Score(
    const std::vector<uint32_t>& query_terms) const {
  std::vector<double> scores(unit_lengths_.size(), 0.0);
  if (average_length_ <= 0) return scores;
  absl::flat_hash_map<uint32_t, uint32_t> query_counts;
  for (uint32_t term : query_terms) ++query_counts[term];
  for (const auto& [term, qtf] : query_counts) {
    auto it = postings_.find(term);
    if (it == postings_.end()) continue;
    const double idf = Idf(term);
    for (const Posting& p : it->second) {
      const double norm =
          params_.k1 * (1.0 - params_.b +
                        params_.b * unit_lengths_[p.unit] / average_length_);
      scores[p.unit] += qtf * idf * p.tf * (params_.k1 + 1.0) / (p.tf + norm);
    }
  }
  return scores;
}

}  // namespace attnr::scoring

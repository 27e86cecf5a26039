#include "model/scoring/attention_view.h"

#include <algorithm>
#include <cmath>

namespace attnr::scoring {

AttentionViewScorer::AttentionViewScorer(const std::vector<TokenSlice>& units,
                                         size_t scored, size_t total_tokens,
                                         AttentionViewParams params)
    : units_(units.begin(), units.begin() + scored),
      total_tokens_(static_cast<double>(total_tokens)),
      params_(params),
      log_scores_(scored, 0.0) {
  for (uint32_t u = 0; u < units_.size(); ++u) {
    by_sequence_[units_[u].tokens].push_back(u);
  }
}

void AttentionViewScorer::AddRows(const std::vector<text::Token>* sequence,
                                  const float* rows, size_t queries,
                                  const float* weights) {
  auto it = by_sequence_.find(sequence);
  if (it == by_sequence_.end() || total_tokens_ <= 0) return;
  const size_t n = sequence->size();
  const uint32_t k = std::max<uint32_t>(1, params_.top_tokens);
  std::vector<float> top(k);
  for (size_t j = 0; j < queries; ++j) {
    const double w = weights[j];
    if (!(w > 0)) continue;  // A token the read-out ignores.
    const float* row = rows + j * n;
    // Density 1 is the token's mass spread evenly over all N tokens.
    const double to_density = total_tokens_ / (w * k);
    for (uint32_t u : it->second) {
      const TokenSlice& s = units_[u];
      if (s.token_end <= s.token_begin) continue;
      // The k largest masses, kept sorted descending (k is a handful).
      std::fill(top.begin(), top.end(), 0.0f);
      for (uint32_t t = s.token_begin; t < s.token_end; ++t) {
        const float v = row[t];
        if (v <= top[k - 1]) continue;
        uint32_t i = k - 1;
        for (; i > 0 && top[i - 1] < v; --i) top[i] = top[i - 1];
        top[i] = v;
      }
      double peak = 0;
      for (float v : top) peak += v;
      log_scores_[u] +=
          w * std::log((1.0 - params_.background) * peak * to_density +
                       params_.background);
    }
  }
}

std::vector<double> AttentionViewScorer::Scores() const {
  std::vector<double> scores(units_.size(), 0.0);
  for (size_t u = 0; u < units_.size(); ++u) {
    if (units_[u].token_end > units_[u].token_begin) {
      scores[u] = std::exp(log_scores_[u]);
    }
  }
  return scores;
}

}  // namespace attnr::scoring

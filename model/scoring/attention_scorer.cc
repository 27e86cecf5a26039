#include "model/scoring/attention_scorer.h"

#include <algorithm>
#include <cmath>

namespace attnr::scoring {
namespace {

// A query token is a reason for a unit when it raises its score by 5%.
constexpr double kReasonTerm = 0.05;

}  // namespace

AttentionViewScorer::AttentionViewScorer(const std::vector<TokenSlice>& units,
                                         size_t scored, size_t total_tokens,
                                         AttentionViewParams params,
                                         const std::vector<text::Token>* query)
    : units_(units.begin(), units.begin() + scored),
      total_tokens_(static_cast<double>(total_tokens)),
      params_(params),
      log_scores_(scored, 0.0),
      query_(query) {
  if (query_ != nullptr) reasons_.resize(scored);
  for (uint32_t u = 0; u < units_.size(); ++u) {
    by_sequence_[units_[u].tokens].push_back(u);
  }
}

void AttentionViewScorer::AddRows(const std::vector<text::Token>* sequence,
                                  size_t first_query, const float* rows,
                                  size_t queries, const float* weights) {
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
      const double term =
          w * std::log((1.0 - params_.background) * peak * to_density +
                       params_.background);
      log_scores_[u] += term;
      if (query_ != nullptr && term >= kReasonTerm) {
        reasons_[u].emplace_back(term, static_cast<uint32_t>(first_query + j));
      }
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

std::vector<std::string> AttentionViewScorer::AttendedTerms(size_t unit) const {
  std::vector<std::string> words;
  if (query_ == nullptr || unit >= reasons_.size()) return words;
  std::vector<std::pair<double, uint32_t>> order = reasons_[unit];
  std::stable_sort(
      order.begin(), order.end(),
      [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [term, q] : order) {
    const std::string& word = (*query_)[q].norm;
    if (std::find(words.begin(), words.end(), word) != words.end()) continue;
    words.push_back(word);
    if (words.size() == kMaxAttendedTerms) break;
  }
  return words;
}

}  // namespace attnr::scoring

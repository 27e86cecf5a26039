#include "model/views/fusion.h"

#include <algorithm>
#include <numeric>

namespace attnr::views {

void Fuse(const std::vector<ViewKind>& views, const FusionWeights& weights,
          std::vector<ScoreDetail>* details) {
  if (views.size() == 1) {
    for (ScoreDetail& d : *details) d.fused = d.ScoreOf(views[0]);
    return;
  }
  constexpr double kRrf = 60.0;
  std::vector<uint32_t> order(details->size());
  std::vector<double> scores(details->size());
  for (ScoreDetail& d : *details) d.fused = 0;
  for (ViewKind v : views) {
    auto w = weights.find(v);
    const double weight = w == weights.end() ? 1.0 : w->second;
    for (size_t i = 0; i < details->size(); ++i) {
      scores[i] = (*details)[i].ScoreOf(v);
    }
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return scores[a] > scores[b];
    });
    for (uint32_t rank = 0; rank < order.size(); ++rank) {
      if (scores[order[rank]] > 0) {
        (*details)[order[rank]].fused += weight / (kRrf + rank + 1);
      }
    }
  }
}

std::vector<uint32_t> FusedOrder(const std::vector<ScoreDetail>& details) {
  std::vector<uint32_t> order(details.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return details[a].fused > details[b].fused;
  });
  return order;
}

}  // namespace attnr::views

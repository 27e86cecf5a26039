#ifndef ATTNR_MODEL_VIEWS_FUSION_H_
#define ATTNR_MODEL_VIEWS_FUSION_H_

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/retrieval_types.h"

namespace attnr::views {

// Per-view weights in fusion; a view not named weighs 1.
using FusionWeights = absl::flat_hash_map<ViewKind, double>;

// Sets each detail's fused score from its per-view scores. One view ranks by
// its own score; several are combined by weighted reciprocal-rank fusion
// (k = 60), robust to the views' different scales. A unit a view gives no
// score (0) gets nothing from that view.
void Fuse(const std::vector<ViewKind>& views, const FusionWeights& weights,
          std::vector<ScoreDetail>* details);

// The units in fused order, best first; ties keep unit order.
std::vector<uint32_t> FusedOrder(const std::vector<ScoreDetail>& details);

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_FUSION_H_

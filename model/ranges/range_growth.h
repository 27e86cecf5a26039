#ifndef ATTNR_MODEL_RANGES_RANGE_GROWTH_H_
#define ATTNR_MODEL_RANGES_RANGE_GROWTH_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "model/text/passage_builder.h"

namespace attnr::ranges {

// How far a returned range may grow past the passage it starts from. The
// defaults were chosen on the training corpus's held-out split
// (bench/results/RANGES.md): only the best passages vouch for a neighbour,
// and a range never more than (1 + max_growth) times its passage, because a
// neighbour that ranks high is as often the next answer as the rest of this
// one.
struct GrowthOptions {
  // A neighbour joins only if it is among this many best passages of the
  // request (by fused score, evidence > 0).
  uint32_t rank_window = 2;
  // Characters added, as a share of the starting passage's characters.
  double max_growth = 1.5;
  // The grown range holds at most this many tokens (0: no cap).
  uint32_t max_tokens = 0;
};

// Grows passage `seed` of one document over adjacent passages (the previous
// or next in document order, repeatedly) for which `eligible` is true,
// within `options`. Returns the first and last passage index of the range
// (both inclusive); the range is contiguous and holds `seed`.
std::pair<uint32_t, uint32_t> GrowRange(
    const std::vector<text::PassageBounds>& passages, uint32_t seed,
    const std::vector<bool>& eligible, const GrowthOptions& options);

}  // namespace attnr::ranges

#endif  // ATTNR_MODEL_RANGES_RANGE_GROWTH_H_

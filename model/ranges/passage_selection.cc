#include "model/ranges/passage_selection.h"

#include <algorithm>
#include <tuple>

#include "model/ranges/range_growth.h"
#include "model/views/fusion.h"

namespace attnr::ranges {

std::vector<RetrievedPassage> SelectPassages(
    const std::vector<std::vector<text::PassageBounds>>& passages,
    std::vector<ScoreDetail>* details, const SelectionParams& params) {
  // Per unit: its document and its first unit.
  std::vector<uint32_t> document_of;
  std::vector<uint32_t> first_of;
  for (uint32_t d = 0; d < passages.size(); ++d) {
    const uint32_t first = static_cast<uint32_t>(document_of.size());
    document_of.insert(document_of.end(), passages[d].size(), d);
    first_of.insert(first_of.end(), passages[d].size(), first);
  }
  std::vector<ScoreDetail>& ds = *details;
  const std::vector<uint32_t> order = views::FusedOrder(ds);
  GrowthOptions growth;
  growth.max_tokens = params.max_range_tokens;
  std::vector<bool> absorbed(ds.size(), false);
  std::vector<bool> in_window(ds.size(), false);
  for (size_t r = 0; r < order.size() && r < growth.rank_window; ++r) {
    in_window[order[r]] = ds[order[r]].fused > 0;
  }
  std::vector<RetrievedPassage> out;
  for (uint32_t u : order) {
    if (out.size() >= params.top_k) break;
    if (ds[u].fused <= 0) break;
    if (absorbed[u]) continue;
    absorbed[u] = true;
    RetrievedPassage p;
    p.document_index = document_of[u];
    const std::vector<text::PassageBounds>& own = passages[p.document_index];
    const uint32_t first = first_of[u];
    const uint32_t local = u - first;
    uint32_t lo = local;
    uint32_t hi = local;
    if (params.grow_ranges) {
      std::vector<bool> eligible(own.size());
      for (uint32_t q = 0; q < own.size(); ++q) {
        eligible[q] = in_window[first + q] && !absorbed[first + q];
      }
      std::tie(lo, hi) = GrowRange(own, local, eligible, growth);
      for (uint32_t q = lo; q <= hi; ++q) absorbed[first + q] = true;
    }
    p.span = {own[lo].span.begin_byte, own[hi].span.end_byte,
              own[lo].span.begin_char, own[hi].span.end_char};
    p.sentences = own[hi].sentence_end - own[lo].sentence_begin;
    p.origin = PassageOrigin::kQueryMatch;
    p.detail = std::move(ds[u]);
    const bool overlaps =
        std::any_of(out.begin(), out.end(),
                    [&](const RetrievedPassage& q) { return Overlaps(p, q); });
    if (!overlaps) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace attnr::ranges

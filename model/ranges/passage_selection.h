#ifndef ATTNR_MODEL_RANGES_PASSAGE_SELECTION_H_
#define ATTNR_MODEL_RANGES_PASSAGE_SELECTION_H_

#include <cstdint>
#include <vector>

#include "model/retrieval_types.h"
#include "model/text/passage_builder.h"

namespace attnr::ranges {

struct SelectionParams {
  uint32_t top_k = 5;
  // Grow a returned passage over its best-ranked neighbours (range_growth.h)
  // to at most max_range_tokens tokens (0: no cap).
  bool grow_ranges = false;
  uint32_t max_range_tokens = 0;
};

// The returned ranges, best first by fused score: `passages` are each
// document's passages and `details` the fused details of all of them, in
// document then passage order (the request's units). Ties keep document
// order so answers are stable. A passage overlapping a better one (from
// overlap_sentences) is dropped as repeated evidence; a passage with no
// evidence (fused score 0) is never returned, so fewer than top_k can come
// back. With grow_ranges a passage takes in its best-ranked neighbours,
// which are then not returned on their own. The details of returned
// passages are moved into them.
std::vector<RetrievedPassage> SelectPassages(
    const std::vector<std::vector<text::PassageBounds>>& passages,
    std::vector<ScoreDetail>* details, const SelectionParams& params);

}  // namespace attnr::ranges

#endif  // ATTNR_MODEL_RANGES_PASSAGE_SELECTION_H_

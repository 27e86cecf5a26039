#ifndef ATTNR_MODEL_RANGES_CONTEXT_RANGE_H_
#define ATTNR_MODEL_RANGES_CONTEXT_RANGE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/retrieval_types.h"
#include "model/text/analyzed_document.h"
#include "model/text/text_span.h"

namespace attnr::ranges {

// A Score input given as a range of the context document, resolved.
struct ContextRange {
  text::TextSpan span;  // In bytes and code points.
  // The context's tokens wholly inside the range: [token_begin, token_end).
  uint32_t token_begin = 0;
  uint32_t token_end = 0;
};

// Resolves `input` (a char_range or byte_range) against `context`, or
// INVALID_ARGUMENT: a range outside the context, reversed, or (bytes) with
// an end inside a UTF-8 character. The caller names the input.
absl::StatusOr<ContextRange> ResolveContextRange(
    const ScoreInput& input, const text::AnalyzedDocument& context);

}  // namespace attnr::ranges

#endif  // ATTNR_MODEL_RANGES_CONTEXT_RANGE_H_

#include "model/ranges/context_range.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "model/text/utf8.h"

namespace attnr::ranges {

absl::StatusOr<ContextRange> ResolveContextRange(
    const ScoreInput& input, const text::AnalyzedDocument& context) {
  const bool chars = input.kind == ScoreInput::Kind::kCharRange;
  const text::Utf8Index& index = *context.index;
  const uint32_t limit = chars ? index.char_count() : index.byte_count();
  if (input.start > input.end || input.end > limit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "[", input.start, ", ", input.end, ") is not a range within the ",
        limit, chars ? " code points" : " bytes", " of the context"));
  }
  if (!chars) {
    for (uint32_t offset : {input.start, input.end}) {
      if (!index.IsBoundary(offset)) {
        return absl::InvalidArgumentError(
            absl::StrCat("byte offset ", offset,
                         " falls inside a UTF-8 character of the context"));
      }
    }
  }
  ContextRange out;
  if (chars) {
    out.span = {index.ByteAt(input.start), index.ByteAt(input.end), input.start,
                input.end};
  } else {
    out.span = {input.start, input.end, index.CharAt(input.start),
                index.CharAt(input.end)};
  }
  const auto& tokens = context.tokens;
  auto first = std::lower_bound(
      tokens.begin(), tokens.end(), out.span.begin_byte,
      [](const text::Token& t, uint32_t b) { return t.span.begin_byte < b; });
  auto last = first;
  while (last != tokens.end() && last->span.end_byte <= out.span.end_byte) {
    ++last;
  }
  out.token_begin = static_cast<uint32_t>(first - tokens.begin());
  out.token_end = static_cast<uint32_t>(last - tokens.begin());
  return out;
}

}  // namespace attnr::ranges

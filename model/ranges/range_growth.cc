#include "model/ranges/range_growth.h"

#include <algorithm>

namespace attnr::ranges {
namespace {

uint32_t Chars(const text::PassageBounds& p) {
  return p.span.end_char - p.span.begin_char;
}

}  // namespace

std::pair<uint32_t, uint32_t> GrowRange(
    const std::vector<text::PassageBounds>& passages, uint32_t seed,
    const std::vector<bool>& eligible, const GrowthOptions& options) {
  uint32_t lo = seed;
  uint32_t hi = seed;
  const double allowance = options.max_growth * Chars(passages[seed]);
  // Passages may overlap (overlap_sentences), so sizes are those of the
  // union, from the first passage's start to the last one's end.
  const auto chars = [&](uint32_t a, uint32_t b) {
    return passages[b].span.end_char - passages[a].span.begin_char;
  };
  const auto tokens = [&](uint32_t a, uint32_t b) {
    return passages[b].token_end - passages[a].token_begin;
  };
  const auto fits = [&](uint32_t a, uint32_t b) {
    if (chars(a, b) - Chars(passages[seed]) > allowance) return false;
    return options.max_tokens == 0 || tokens(a, b) <= options.max_tokens;
  };
  bool grew = true;
  while (grew) {
    grew = false;
    if (hi + 1 < passages.size() && eligible[hi + 1] && fits(lo, hi + 1)) {
      ++hi;
      grew = true;
    }
    if (lo > 0 && eligible[lo - 1] && fits(lo - 1, hi)) {
      --lo;
      grew = true;
    }
  }
  return {lo, hi};
}

}  // namespace attnr::ranges

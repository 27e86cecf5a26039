#ifndef ATTNR_MODEL_SCORING_TOKEN_SLICE_H_
#define ATTNR_MODEL_SCORING_TOKEN_SLICE_H_

#include <cstdint>
#include <vector>

#include "model/text/tokenizer.h"

namespace attnr::scoring {

// A scoring unit: tokens [token_begin, token_end) of one token sequence.
struct TokenSlice {
  const std::vector<text::Token>* tokens = nullptr;
  uint32_t token_begin = 0;
  uint32_t token_end = 0;
};

}  // namespace attnr::scoring

#endif  // ATTNR_MODEL_SCORING_TOKEN_SLICE_H_

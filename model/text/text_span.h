#ifndef ATTNR_MODEL_TEXT_TEXT_SPAN_H_
#define ATTNR_MODEL_TEXT_TEXT_SPAN_H_

#include <cstdint>

namespace attnr::text {

// A half-open range [begin, end) of a document, kept in both UTF-8 bytes and
// Unicode code points so every unit the pipeline makes (token, sentence,
// passage) can be handed back to a caller as an exact range in either unit.
struct TextSpan {
  uint32_t begin_byte = 0;
  uint32_t end_byte = 0;
  uint32_t begin_char = 0;
  uint32_t end_char = 0;

  uint32_t byte_length() const { return end_byte - begin_byte; }
  bool empty() const { return end_byte == begin_byte; }
};

}  // namespace attnr::text

#endif  // ATTNR_MODEL_TEXT_TEXT_SPAN_H_

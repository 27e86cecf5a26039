#ifndef ATTNR_MODEL_TEXT_UTF8_H_
#define ATTNR_MODEL_TEXT_UTF8_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace attnr::text {

// Checks that `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). On failure the status is
// INVALID_ARGUMENT and names the byte offset of the first bad sequence, so a
// caller can find it in the document they sent.
absl::Status ValidateUtf8(absl::string_view text);

// Decodes the code point starting at `pos` of valid UTF-8 `text` and returns
// the number of bytes it occupies (1..4). `text` must have passed
// ValidateUtf8.
int DecodeUtf8(absl::string_view text, size_t pos, char32_t* code_point);

// Appends the UTF-8 encoding of `code_point` to `out`.
void AppendUtf8(char32_t code_point, std::string* out);

// Number of code points in valid UTF-8 `text`.
size_t CountCodePoints(absl::string_view text);

// Converts between byte and code-point offsets of one valid UTF-8 document in
// O(1) (bytes to chars) and O(log n) (chars to bytes). Built once per
// document; costs 4 bytes per input byte.
class Utf8Index {
 public:
  explicit Utf8Index(absl::string_view text);

  // Code-point offset of byte offset `byte` (which must lie on a code-point
  // boundary or at the end of the text).
  uint32_t CharAt(uint32_t byte) const { return char_at_byte_[byte]; }
  // Byte offset of code-point offset `ch`; ch == char_count() gives the end.
  uint32_t ByteAt(uint32_t ch) const;
  // True when `byte` starts a code point (or is the end of the text).
  bool IsBoundary(uint32_t byte) const;

  uint32_t byte_count() const { return byte_count_; }
  uint32_t char_count() const { return char_at_byte_[byte_count_]; }

  // Memory held by the tables, for cache budgets.
  size_t bytes() const {
    return (char_at_byte_.capacity() + byte_of_char_.capacity()) *
           sizeof(uint32_t);
  }

 private:
  uint32_t byte_count_;
  // char_at_byte_[b] is the index of the code point containing byte b; the
  // extra last entry is the total count.
  std::vector<uint32_t> char_at_byte_;
  std::vector<uint32_t> byte_of_char_;
};

}  // namespace attnr::text

#endif  // ATTNR_MODEL_TEXT_UTF8_H_

#include "model/text/utf8.h"

#include "absl/strings/str_cat.h"

namespace attnr::text {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

absl::Status ValidateUtf8(absl::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    char32_t min = 0;
    char32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, cp = c & 0x07;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid UTF-8 at byte offset ", i, ": byte 0x",
          absl::Hex(c, absl::kZeroPad2), " cannot start a character"));
    }
    if (i + len > n) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid UTF-8 at byte offset ", i, ": truncated ", len,
                       "-byte sequence at end of text"));
    }
    for (int k = 1; k < len; ++k) {
      if (!IsContinuation(s[i + k])) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid UTF-8 at byte offset ", i,
                         ": missing continuation byte at offset ", i + k));
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid UTF-8 at byte offset ", i, ": overlong encoding"));
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid UTF-8 at byte offset ", i,
                       ": encoded surrogate U+", absl::Hex(cp)));
    }
    if (cp > 0x10FFFF) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid UTF-8 at byte offset ", i, ": code point above U+10FFFF"));
    }
    i += len;
  }
  return absl::OkStatus();
}

int DecodeUtf8(absl::string_view text, size_t pos, char32_t* code_point) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  if (s[0] < 0x80) {
    *code_point = s[0];
    return 1;
  }
  if ((s[0] & 0xE0) == 0xC0) {
    *code_point = ((s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    return 2;
  }
  if ((s[0] & 0xF0) == 0xE0) {
    *code_point = ((s[0] & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    return 3;
  }
  *code_point = ((s[0] & 0x07) << 18) | ((s[1] & 0x3F) << 12) |
                ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
  return 4;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t CountCodePoints(absl::string_view text) {
  size_t count = 0;
  for (char c : text) {
    if (!IsContinuation(static_cast<unsigned char>(c))) ++count;
  }
  return count;
}

Utf8Index::Utf8Index(absl::string_view text)
    : byte_count_(static_cast<uint32_t>(text.size())),
      char_at_byte_(text.size() + 1) {
  uint32_t ch = 0;
  for (uint32_t b = 0; b < byte_count_; ++b) {
    const bool starts = !IsContinuation(static_cast<unsigned char>(text[b]));
    if (starts) {
      if (b > 0) ++ch;
      byte_of_char_.push_back(b);
    }
    char_at_byte_[b] = ch;
  }
  const uint32_t total = static_cast<uint32_t>(byte_of_char_.size());
  char_at_byte_[byte_count_] = total;
  byte_of_char_.push_back(byte_count_);
}

uint32_t Utf8Index::ByteAt(uint32_t ch) const { return byte_of_char_[ch]; }

bool Utf8Index::IsBoundary(uint32_t byte) const {
  if (byte >= byte_count_) return byte == byte_count_;
  return byte_of_char_[char_at_byte_[byte]] == byte;
}

}  // namespace attnr::text

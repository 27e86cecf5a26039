#include "model/text/tokenizer.h"

#include <string>

namespace attnr::text {
namespace {

bool IsCjkIdeograph(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x3040 && cp <= 0x30FF) ||  // Hiragana, Katakana.
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FA1F);
}

// Letters and digits of any script we do not treat specially. Without ICU we
// classify by block: Latin-1 symbols, general punctuation, arrows, math,
// box drawing, dingbats, CJK punctuation, full-width punctuation, variation
// selectors and the emoji planes are separators; everything else non-ASCII
// counts as a word character.
bool IsWordCodePoint(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           (cp >= '0' && cp <= '9') || cp == '_';
  }
  if (cp < 0xC0) return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
  if (cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;
  if (cp >= 0x3000 && cp <= 0x303F) return false;
  if (cp >= 0xFE00 && cp <= 0xFE0F) return false;
  if (cp >= 0xFE30 && cp <= 0xFE4F) return false;
  // The byte order mark (a leading U+FEFF) and zero-width no-break space
  // are formatting, not letters: they must not glue onto the next word.
  if (cp == 0xFEFF) return false;
  if (cp >= 0xFF00 && cp <= 0xFF0F) return false;
  if (cp >= 0xFFF0 && cp <= 0xFFFF) return false;
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return false;
  if (cp >= 0xE0000) return false;
  return true;
}

bool IsDigit(char32_t cp) { return cp >= '0' && cp <= '9'; }

bool IsApostrophe(char32_t cp) { return cp == '\'' || cp == 0x2019; }

}  // namespace

char32_t LowerCodePoint(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp < 0xC0) return cp;
  if (cp <= 0xDE && cp != 0xD7) return cp + 32;
  if (cp >= 0x100 && cp <= 0x17F) {
    // Latin Extended-A pairs upper/lower as even/odd, except a few ranges
    // that pair odd/even; getting those two wrong only splits rare terms.
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) {
      return (cp % 2 == 1) ? cp + 1 : cp;
    }
    return (cp % 2 == 0) ? cp + 1 : cp;
  }
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 32;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

namespace {

// Scans valid UTF-8 `text` for tokens in order and calls visit(begin, end)
// with each one's byte range (no allocation); stops early when visit
// returns false. Tokenize and CountTokens share it, so a count made to
// refuse an oversized text agrees with the tokens it stands for.
template <typename Visit>
void ScanTokens(absl::string_view text, Visit visit) {
  const size_t n = text.size();
  size_t i = 0;
  // Decodes the code point at `pos` (or 0 past the end).
  auto peek = [&](size_t pos, int* len) -> char32_t {
    if (pos >= n) {
      *len = 0;
      return 0;
    }
    const unsigned char byte = static_cast<unsigned char>(text[pos]);
    if (byte < 0x80) {  // Most text: skip the decoder's call.
      *len = 1;
      return byte;
    }
    char32_t cp;
    *len = DecodeUtf8(text, pos, &cp);
    return cp;
  };
  while (i < n) {
    int len;
    char32_t cp = peek(i, &len);
    if (IsCjkIdeograph(cp)) {
      if (!visit(i, i + len)) return;
      i += len;
      continue;
    }
    if (!IsWordCodePoint(cp)) {
      i += len;
      continue;
    }
    const size_t begin = i;
    char32_t prev = 0;
    size_t code_points = 0;
    while (i < n && code_points < kMaxTokenCodePoints) {
      ++code_points;
      cp = peek(i, &len);
      if (IsWordCodePoint(cp) && !IsCjkIdeograph(cp)) {
        prev = cp;
        i += len;
        continue;
      }
      // Joiners survive only between two word characters of the right kind.
      int next_len;
      const char32_t next = peek(i + len, &next_len);
      const bool joins_letters =
          IsApostrophe(cp) && prev > '9' && IsWordCodePoint(next) && next > '9';
      const bool joins_digits =
          (cp == '.' || cp == ',') && IsDigit(prev) && IsDigit(next);
      if (joins_letters || joins_digits) {
        i += len;
        continue;
      }
      break;
    }
    if (!visit(begin, i)) return;
  }
}

// The token's normal form: lower-cased word characters, and its joiners
// (apostrophes as ', digit separators as they are).
std::string Normalize(absl::string_view token) {
  std::string norm;
  norm.reserve(token.size());
  for (size_t i = 0; i < token.size();) {
    const unsigned char byte = static_cast<unsigned char>(token[i]);
    if (byte < 0x80) {
      norm.push_back(static_cast<char>(LowerCodePoint(byte)));
      ++i;
      continue;
    }
    char32_t cp;
    i += DecodeUtf8(token, i, &cp);
    if (IsApostrophe(cp)) {
      norm.push_back('\'');
    } else if (IsCjkIdeograph(cp)) {
      AppendUtf8(cp, &norm);
    } else {
      AppendUtf8(LowerCodePoint(cp), &norm);
    }
  }
  return norm;
}

}  // namespace

std::vector<Token> Tokenize(absl::string_view text, const Utf8Index& index) {
  std::vector<Token> tokens;
  ScanTokens(text, [&](size_t begin, size_t end) {
    Token t;
    t.span = {static_cast<uint32_t>(begin), static_cast<uint32_t>(end),
              index.CharAt(begin), index.CharAt(end)};
    t.norm = Normalize(text.substr(begin, end - begin));
    tokens.push_back(std::move(t));
    return true;
  });
  return tokens;
}

size_t CountTokens(absl::string_view text, size_t limit) {
  size_t count = 0;
  ScanTokens(text, [&](size_t, size_t) { return ++count < limit; });
  return count;
}

std::vector<Token> Tokenize(absl::string_view text) {
  Utf8Index index(text);
  return Tokenize(text, index);
}

}  // namespace attnr::text

#ifndef ATTNR_MODEL_TEXT_TOKENIZER_H_
#define ATTNR_MODEL_TEXT_TOKENIZER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "model/text/text_span.h"
#include "model/text/utf8.h"

namespace attnr::text {

// A word-level token: a run of letters, digits and underscores (so code
// identifiers such as `git_config` stay whole), with apostrophes kept between
// letters ("don't") and '.' or ',' kept between digits ("3.14", "10,000").
// Each CJK ideograph is a token of its own, since those scripts do not
// separate words by spaces. Punctuation, symbols and emoji are not tokens.
// No word is longer than kMaxTokenCodePoints: a longer run of word
// characters ("a_a_a_...", "1.1.1...", base64) is cut into tokens of that
// many code points, so a token stays small for every model's tokenizer.
inline constexpr size_t kMaxTokenCodePoints = 64;
struct Token {
  TextSpan span;
  // Lower-cased surface form (ASCII, Latin-1/Extended-A, Greek, Cyrillic).
  std::string norm;
};

// Tokenizes valid UTF-8 `text`; offsets are relative to the start of `text`.
std::vector<Token> Tokenize(absl::string_view text, const Utf8Index& index);

// The number of tokens Tokenize would return, counted without allocating
// and stopping at `limit` (so it costs time proportional to the limit, not
// to the text): min(tokens, limit). For refusing oversized text early.
size_t CountTokens(absl::string_view text, size_t limit);

// Convenience for short strings (queries, caller-given passages).
std::vector<Token> Tokenize(absl::string_view text);

// Lower-cases one code point for the scripts named above; others unchanged.
char32_t LowerCodePoint(char32_t cp);

}  // namespace attnr::text

#endif  // ATTNR_MODEL_TEXT_TOKENIZER_H_

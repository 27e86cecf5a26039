#include "model/tokenizers/wordpiece_tokenizer.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/text/utf8.h"

namespace attnr::tokenizers {
namespace {

// Rust's char::is_whitespace (the White_Space property), as the reference.
bool IsWhitespace(char32_t c) { return u_isUWhiteSpace(c); }

// Cc, Cf, Cs, Co, Cn ("other"), except the whitespace controls.
bool IsControl(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
      return true;
    default:
      return false;
  }
}

bool IsPunctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
           (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  }
  switch (u_charType(c)) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

// The CJK blocks BERT splits into single characters.
bool IsChineseChar(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// A normalised character and the input character it came from.
struct NormChar {
  char32_t cp;
  uint32_t source;  // Index into the input's code points.
};

absl::Status NotBert(const std::string& path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": not a BERT WordPiece tokenizer: ", what));
}

}  // namespace

absl::StatusOr<WordPieceTokenizer> WordPieceTokenizer::Load(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const auto j = nlohmann::json::parse(buffer.str(), nullptr, false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not JSON"));
  }
  WordPieceTokenizer t;
  const auto& normalizer = j.value("normalizer", nlohmann::json());
  if (!normalizer.is_object() ||
      normalizer.value("type", "") != "BertNormalizer") {
    return NotBert(path, "normalizer is not BertNormalizer");
  }
  t.clean_text_ = normalizer.value("clean_text", true);
  t.handle_chinese_chars_ = normalizer.value("handle_chinese_chars", true);
  t.lowercase_ = normalizer.value("lowercase", true);
  // A null strip_accents follows lowercase, as in the reference.
  const auto& strip = normalizer["strip_accents"];
  t.strip_accents_ = strip.is_boolean() ? strip.get<bool>() : t.lowercase_;
  const auto& pre = j.value("pre_tokenizer", nlohmann::json());
  if (!pre.is_object() || pre.value("type", "") != "BertPreTokenizer") {
    return NotBert(path, "pre_tokenizer is not BertPreTokenizer");
  }
  const auto& model = j.value("model", nlohmann::json());
  if (!model.is_object() || model.value("type", "") != "WordPiece" ||
      !model.contains("vocab") || !model["vocab"].is_object()) {
    return NotBert(path, "model is not WordPiece with a vocab");
  }
  t.continuing_prefix_ = model.value("continuing_subword_prefix", "##");
  t.max_input_chars_per_word_ = model.value("max_input_chars_per_word", 100);
  for (const auto& [token, id] : model["vocab"].items()) {
    const int64_t i = id.get<int64_t>();
    if (i < 0 || i >= 10'000'000) return NotBert(path, "vocab id out of range");
    if (static_cast<size_t>(i) >= t.tokens_.size()) t.tokens_.resize(i + 1);
    t.tokens_[i] = token;
    t.ids_[token] = static_cast<int32_t>(i);
  }
  for (const auto& added : j.value("added_tokens", nlohmann::json::array())) {
    if (!added.is_object() || !added.contains("content") ||
        !added.contains("id")) {
      continue;
    }
    if (added.value("normalized", false) || added.value("single_word", false) ||
        added.value("lstrip", false) || added.value("rstrip", false)) {
      return NotBert(path,
                     "added tokens with normalized, single_word, "
                     "lstrip or rstrip are not supported");
    }
    const std::string content = added["content"];
    std::u32string cps;
    for (size_t i = 0; i < content.size();) {
      char32_t cp;
      i += text::DecodeUtf8(content, i, &cp);
      cps.push_back(cp);
    }
    if (!cps.empty()) t.added_.emplace_back(cps, added["id"].get<int32_t>());
  }
  std::sort(t.added_.begin(), t.added_.end(), [](const auto& a, const auto& b) {
    return a.first.size() > b.first.size();
  });
  const std::string unk = model.value("unk_token", "[UNK]");
  t.unk_id_ = t.IdOf(unk);
  if (t.unk_id_ < 0) return NotBert(path, "unk_token is not in the vocab");
  return t;
}

int32_t WordPieceTokenizer::IdOf(absl::string_view token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<WordPiece> WordPieceTokenizer::Tokenize(
    absl::string_view text) const {
  // The input's code points and where each starts (bytes), plus the end.
  std::vector<char32_t> input;
  std::vector<uint32_t> byte_at;
  for (size_t i = 0; i < text.size();) {
    char32_t cp;
    byte_at.push_back(static_cast<uint32_t>(i));
    i += text::DecodeUtf8(text, i, &cp);
    input.push_back(cp);
  }
  byte_at.push_back(static_cast<uint32_t>(text.size()));

  // Added tokens split the text into runs tokenized on their own.
  std::vector<WordPiece> out;
  const uint32_t n = static_cast<uint32_t>(input.size());
  uint32_t run = 0;
  for (uint32_t i = 0; i < n;) {
    bool matched = false;
    for (const auto& [content, id] : added_) {
      if (content.size() <= n - i &&
          std::equal(content.begin(), content.end(), input.begin() + i)) {
        TokenizeRun(input, byte_at, run, i, &out);
        const uint32_t end = i + static_cast<uint32_t>(content.size());
        out.push_back({id, {byte_at[i], byte_at[end], i, end}});
        i = run = end;
        matched = true;
        break;
      }
    }
    if (!matched) ++i;
  }
  TokenizeRun(input, byte_at, run, n, &out);
  return out;
}

void WordPieceTokenizer::TokenizeRun(const std::vector<char32_t>& input,
                                     const std::vector<uint32_t>& byte_at,
                                     uint32_t first_char, uint32_t last_char,
                                     std::vector<WordPiece>* out_pieces) const {
  std::vector<WordPiece>& out = *out_pieces;
  // Normalise, keeping each character's source.
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(error);
  std::vector<NormChar> norm;
  norm.reserve(last_char - first_char);
  for (uint32_t i = first_char; i < last_char; ++i) {
    const char32_t c = input[i];
    if (clean_text_) {
      if (c == 0 || c == 0xFFFD || IsControl(c)) continue;
      if (IsWhitespace(c)) {
        norm.push_back({' ', i});
        continue;
      }
    }
    if (handle_chinese_chars_ && IsChineseChar(c)) {
      norm.push_back({' ', i});
      norm.push_back({c, i});
      norm.push_back({' ', i});
      continue;
    }
    auto add = [&](char32_t x) {
      norm.push_back({lowercase_ ? static_cast<char32_t>(u_tolower(x)) : x, i});
    };
    if (strip_accents_ && c >= 0x80 && U_SUCCESS(error)) {
      icu::UnicodeString decomposed;
      UErrorCode e = U_ZERO_ERROR;
      nfd->normalize(icu::UnicodeString(static_cast<UChar32>(c)), decomposed,
                     e);
      for (int32_t k = 0; k < decomposed.length();) {
        const UChar32 d = decomposed.char32At(k);
        k += U16_LENGTH(d);
        if (u_charType(d) != U_NON_SPACING_MARK) add(d);
      }
      continue;
    }
    add(c);
  }

  // Words: runs between whitespace, each punctuation character alone.
  std::string word;
  std::vector<uint32_t> char_end;  // Byte length of word after each char.
  auto emit_word = [&](size_t first, size_t last) {  // norm[first, last)
    if (first == last) return;
    word.clear();
    char_end.clear();
    for (size_t k = first; k < last; ++k) {
      text::AppendUtf8(norm[k].cp, &word);
      char_end.push_back(static_cast<uint32_t>(word.size()));
    }
    auto span_of = [&](size_t a, size_t b) {  // chars [a, b) of the word
      const uint32_t s = norm[first + a].source;
      const uint32_t e = norm[first + b - 1].source + 1;
      return text::TextSpan{byte_at[s], byte_at[e], s, e};
    };
    const size_t n = last - first;
    if (n > max_input_chars_per_word_) {
      out.push_back({unk_id_, span_of(0, n)});
      return;
    }
    const size_t before = out.size();
    std::string candidate;
    for (size_t start = 0; start < n;) {
      const uint32_t begin_byte = start == 0 ? 0 : char_end[start - 1];
      int32_t found = -1;
      size_t end = n;
      for (; end > start; --end) {
        candidate.assign(start == 0 ? "" : continuing_prefix_);
        candidate.append(word, begin_byte, char_end[end - 1] - begin_byte);
        if (auto it = ids_.find(candidate); it != ids_.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        out.resize(before);
        out.push_back({unk_id_, span_of(0, n)});
        return;
      }
      out.push_back({found, span_of(start, end)});
      start = end;
    }
  };
  size_t first = 0;
  for (size_t k = 0; k < norm.size(); ++k) {
    const char32_t c = norm[k].cp;
    if (IsWhitespace(c)) {
      emit_word(first, k);
      first = k + 1;
    } else if (IsPunctuation(c)) {
      emit_word(first, k);
      emit_word(k, k + 1);
      first = k + 1;
    }
  }
  emit_word(first, norm.size());
}

}  // namespace attnr::tokenizers

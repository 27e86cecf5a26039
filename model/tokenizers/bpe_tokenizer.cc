#include "model/tokenizers/bpe_tokenizer.h"

#include <unicode/uchar.h>

#include <queue>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/text/utf8.h"

namespace attnr::tokenizers {
namespace {

bool IsLetter(char32_t c) {
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
      return true;
    default:
      return false;
  }
}

bool IsNumber(char32_t c) {
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
      return true;
    default:
      return false;
  }
}

bool IsSpace(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }
bool IsOther(char32_t c) { return !IsSpace(c) && !IsLetter(c) && !IsNumber(c); }
bool IsNewline(char32_t c) { return c == '\r' || c == '\n'; }

char32_t Lower(char32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Length of an English contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
size_t Contraction(const std::u32string& c, size_t i, size_t end,
                   bool any_case) {
  if (c[i] != '\'' || i + 1 >= end) return 0;
  auto at = [&](size_t k) { return any_case ? Lower(c[k]) : c[k]; };
  const char32_t a = at(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 < end) {
    const char32_t b = at(i + 2);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
        (a == 'l' && b == 'l')) {
      return 3;
    }
  }
  return 0;
}

// `\s+(?!\S)|\s+` at i (a whitespace character): the run, less its last
// character when more follows and the run is longer than one.
size_t SpaceRun(const std::u32string& c, size_t i, size_t end) {
  size_t j = i;
  while (j < end && IsSpace(c[j])) ++j;
  if (j < end && j - i >= 2) --j;
  return j;
}

// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
//        \s+(?!\S)|\s+
size_t Gpt2Piece(const std::u32string& c, size_t i, size_t end) {
  if (size_t n = Contraction(c, i, end, false)) return i + n;
  const size_t k = c[i] == ' ' && i + 1 < end ? i + 1 : i;
  for (bool (*in)(char32_t) : {&IsLetter, &IsNumber, &IsOther}) {
    size_t j = in(c[k]) ? k : (in(c[i]) ? i : end + 1);
    if (j > end) continue;
    while (j < end && in(c[j])) ++j;
    return j;
  }
  return IsSpace(c[i]) ? SpaceRun(c, i, end) : i + 1;
}

// Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|
//          \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// (Qwen 2: \p{N} alone).
size_t Llama3Piece(const std::u32string& c, size_t i, size_t end,
                   size_t max_digits) {
  if (size_t n = Contraction(c, i, end, true)) return i + n;
  {
    size_t j = i;
    if (!IsLetter(c[j]) && !IsNumber(c[j]) && !IsNewline(c[j]) && j + 1 < end &&
        IsLetter(c[j + 1])) {
      ++j;
    }
    if (IsLetter(c[j])) {
      while (j < end && IsLetter(c[j])) ++j;
      return j;
    }
  }
  if (IsNumber(c[i])) {
    size_t j = i;
    while (j < end && j - i < max_digits && IsNumber(c[j])) ++j;
    return j;
  }
  {
    size_t j = c[i] == ' ' && i + 1 < end && IsOther(c[i + 1]) ? i + 1 : i;
    if (IsOther(c[j])) {
      while (j < end && IsOther(c[j])) ++j;
      while (j < end && IsNewline(c[j])) ++j;
      return j;
    }
  }
  if (IsSpace(c[i])) {
    size_t run = i;
    while (run < end && IsSpace(c[run])) ++run;
    for (size_t p = run; p > i; --p) {
      if (IsNewline(c[p - 1])) return p;
    }
    return SpaceRun(c, i, end);
  }
  return i + 1;
}

// GPT-2's printable alphabet for bytes: the byte itself where printable,
// else 256 + n in order.
std::string ByteSymbol(uint8_t b) {
  char32_t cp = b;
  const bool printable =
      (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
  if (!printable) {
    int n = 0;
    for (int x = 0; x < b; ++x) {
      const bool p =
          (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174);
      if (!p) ++n;
    }
    cp = 256 + n;
  }
  std::string out;
  text::AppendUtf8(cp, &out);
  return out;
}

}  // namespace

absl::StatusOr<BpeTokenizer> BpeTokenizer::FromGguf(
    const formats::GgufFile& file) {
  absl::StatusOr<std::string> model = file.String("tokenizer.ggml.model");
  if (!model.ok()) return model.status();
  if (*model != "gpt2") {
    return absl::InvalidArgumentError(
        absl::StrCat("tokenizer model '", *model,
                     "' is not supported (byte-level BPE, 'gpt2', is)"));
  }
  BpeTokenizer t;
  absl::StatusOr<std::string> pre = file.String("tokenizer.ggml.pre");
  t.pre_ = pre.ok() ? *pre : "default";
  if (t.pre_ == "smollm") {
    t.single_digits_ = true;
  } else if (t.pre_ == "gpt2" || t.pre_ == "default") {
  } else if (t.pre_ == "llama-bpe" || t.pre_ == "llama3") {
    t.pattern_ = Pattern::kLlama3;
    t.digit_triples_ = true;
  } else if (t.pre_ == "qwen2") {
    t.pattern_ = Pattern::kLlama3;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "pre-tokeniser '", t.pre_,
        "' is not supported (smollm, gpt2, default, llama-bpe, llama3, "
        "qwen2 are)"));
  }
  absl::StatusOr<std::vector<std::string>> tokens =
      file.Strings("tokenizer.ggml.tokens");
  if (!tokens.ok()) return tokens.status();
  t.tokens_ = *std::move(tokens);
  if (t.tokens_.empty() || t.tokens_.size() > (1u << 24)) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocabulary of ", t.tokens_.size(), " tokens"));
  }
  absl::StatusOr<std::vector<int64_t>> types =
      file.Ints("tokenizer.ggml.token_type");
  t.token_types_.assign(t.tokens_.size(), 1);
  if (types.ok() && types->size() == t.tokens_.size()) {
    for (size_t i = 0; i < types->size(); ++i)
      t.token_types_[i] = static_cast<int32_t>((*types)[i]);
  }
  for (size_t i = 0; i < t.tokens_.size(); ++i) {
    t.ids_.emplace(t.tokens_[i], static_cast<int32_t>(i));
  }
  // A vocabulary may lack rare bytes (SmolLM2: some control characters and
  // bytes UTF-8 never uses); such a byte, left unmerged, gets no token, as
  // in llama.cpp. Without most of them this is not a byte-level vocabulary.
  int missing = 0;
  for (int b = 0; b < 256; ++b) {
    t.byte_id_[b] = t.IdOf(ByteSymbol(static_cast<uint8_t>(b)));
    if (t.byte_id_[b] < 0) ++missing;
  }
  if (missing > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the vocabulary lacks ", missing,
        " of the 256 byte symbols: not a byte-level BPE vocabulary"));
  }
  absl::StatusOr<std::vector<std::string>> merges =
      file.Strings("tokenizer.ggml.merges");
  if (!merges.ok()) return merges.status();
  for (size_t rank = 0; rank < merges->size(); ++rank) {
    const std::string& m = (*merges)[rank];
    const size_t space = m.find(' ', 1);
    if (space == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("merge ", rank, " ('", m, "') is not two symbols"));
    }
    const int32_t left = t.IdOf(absl::string_view(m).substr(0, space));
    const int32_t right = t.IdOf(absl::string_view(m).substr(space + 1));
    const int32_t merged = t.IdOf(m.substr(0, space) + m.substr(space + 1));
    // A merge whose parts or result are not tokens can never apply.
    if (left < 0 || right < 0 || merged < 0) continue;
    const uint64_t key =
        (static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right);
    t.merges_.emplace(key, (static_cast<uint64_t>(rank) << 32) |
                               static_cast<uint32_t>(merged));
  }
  absl::StatusOr<uint64_t> bos = file.Uint("tokenizer.ggml.bos_token_id");
  if (bos.ok() && *bos < t.tokens_.size())
    t.bos_id_ = static_cast<int32_t>(*bos);
  absl::StatusOr<uint64_t> eos = file.Uint("tokenizer.ggml.eos_token_id");
  if (eos.ok() && *eos < t.tokens_.size())
    t.eos_id_ = static_cast<int32_t>(*eos);
  return t;
}

int32_t BpeTokenizer::IdOf(absl::string_view token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

std::string BpeTokenizer::Bytes(int32_t id) const {
  const std::string& token = tokens_[id];
  if (token_types_[id] == 3) return token;
  static const absl::flat_hash_map<char32_t, uint8_t>* const kByteOf = [] {
    auto* m = new absl::flat_hash_map<char32_t, uint8_t>();
    for (int b = 0; b < 256; ++b) {
      char32_t cp;
      const std::string s = ByteSymbol(static_cast<uint8_t>(b));
      text::DecodeUtf8(s, 0, &cp);
      m->emplace(cp, static_cast<uint8_t>(b));
    }
    return m;
  }();
  std::string out;
  for (size_t pos = 0; pos < token.size();) {
    char32_t cp;
    const int n = text::DecodeUtf8(token, pos, &cp);
    pos += n > 0 ? n : 1;
    auto it = kByteOf->find(cp);
    if (it != kByteOf->end()) out.push_back(static_cast<char>(it->second));
  }
  return out;
}

void BpeTokenizer::Encode(absl::string_view text, uint32_t begin, uint32_t end,
                          std::vector<BpeToken>* out) const {
  // Symbols as a linked list over the bytes; merges applied lowest rank
  // first (leftmost on ties), as a heap of candidate pairs checked when
  // popped, so a long run costs n log n, not n^2.
  const size_t n = end - begin;
  std::vector<int32_t> id(n), next(n), prev(n);
  std::vector<uint32_t> len(n, 1);
  for (size_t i = 0; i < n; ++i) {
    id[i] = byte_id_[static_cast<uint8_t>(text[begin + i])];
    next[i] = static_cast<int32_t>(i + 1);
    prev[i] = static_cast<int32_t>(i) - 1;
  }
  using Candidate = std::pair<uint64_t, uint32_t>;  // (rank<<32|pos, merged)
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto consider = [&](int32_t left) {
    if (left < 0 || next[left] >= static_cast<int32_t>(n)) return;
    if (id[left] < 0 || id[next[left]] < 0) return;
    const uint64_t key = (static_cast<uint64_t>(id[left]) << 32) |
                         static_cast<uint32_t>(id[next[left]]);
    auto it = merges_.find(key);
    if (it == merges_.end()) return;
    heap.emplace(
        (it->second & 0xffffffff00000000ull) | static_cast<uint32_t>(left),
        static_cast<uint32_t>(it->second));
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(static_cast<int32_t>(i));
  while (!heap.empty()) {
    const auto [key, merged] = heap.top();
    heap.pop();
    const int32_t left = static_cast<int32_t>(key & 0xffffffff);
    if (len[left] == 0) continue;  // Merged into its left neighbour.
    const int32_t right = next[left];
    if (right >= static_cast<int32_t>(n)) continue;
    const uint64_t pair = (static_cast<uint64_t>(id[left]) << 32) |
                          static_cast<uint32_t>(id[right]);
    auto it = merges_.find(pair);
    if (it == merges_.end() || static_cast<uint32_t>(it->second) != merged ||
        (it->second >> 32) != (key >> 32)) {
      continue;  // Stale: one side changed since this was queued.
    }
    id[left] = static_cast<int32_t>(merged);
    len[left] += len[right];
    len[right] = 0;
    next[left] = next[right];
    if (next[left] < static_cast<int32_t>(n)) prev[next[left]] = left;
    consider(prev[left]);
    consider(left);
  }
  for (size_t i = 0; i < n; i = next[i]) {
    if (id[i] < 0) continue;  // A byte the vocabulary has no symbol for.
    BpeToken t;
    t.id = id[i];
    t.span.begin_byte = begin + static_cast<uint32_t>(i);
    t.span.end_byte = t.span.begin_byte + len[i];
    out->push_back(t);
  }
}

std::vector<BpeToken> BpeTokenizer::Tokenize(absl::string_view text) const {
  // Code points with their byte offsets.
  std::u32string cps;
  std::vector<uint32_t> byte_at;
  for (size_t pos = 0; pos < text.size();) {
    char32_t cp;
    int n = text::DecodeUtf8(text, pos, &cp);
    if (n <= 0) {
      cp = 0xFFFD;
      n = 1;
    }
    cps.push_back(cp);
    byte_at.push_back(static_cast<uint32_t>(pos));
    pos += n;
  }
  byte_at.push_back(static_cast<uint32_t>(text.size()));

  std::vector<BpeToken> out;
  out.reserve(text.size() / 3);
  auto pieces = [&](size_t a, size_t b) {
    for (size_t i = a; i < b;) {
      const size_t j = pattern_ == Pattern::kGpt2
                           ? Gpt2Piece(cps, i, b)
                           : Llama3Piece(cps, i, b, digit_triples_ ? 3 : 1);
      const size_t first = out.size();
      Encode(text, byte_at[i], byte_at[j], &out);
      // Code-point ranges: every token covers the characters its bytes
      // touch.
      size_t c = i;
      for (size_t k = first; k < out.size(); ++k) {
        text::TextSpan& s = out[k].span;
        while (byte_at[c + 1] <= s.begin_byte) ++c;
        s.begin_char = static_cast<uint32_t>(c);
        size_t e = c;
        while (byte_at[e + 1] < s.end_byte) ++e;
        s.end_char = static_cast<uint32_t>(e + 1);
      }
      i = j;
    }
  };
  if (!single_digits_) {
    pieces(0, cps.size());
  } else {
    size_t start = 0;
    for (size_t i = 0; i < cps.size(); ++i) {
      if (!IsNumber(cps[i])) continue;
      pieces(start, i);
      pieces(i, i + 1);
      start = i + 1;
    }
    pieces(start, cps.size());
  }
  return out;
}

}  // namespace attnr::tokenizers

#include "model/entities/entity_extractor.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "model/scoring/term_analyzer.h"
#include "model/text/utf8.h"

namespace attnr::entities {
namespace {

using text::Token;

absl::string_view Surface(absl::string_view text, const Token& t) {
  return text.substr(t.span.begin_byte, t.span.byte_length());
}

// The bytes between token i and token i + 1.
absl::string_view Gap(absl::string_view text, absl::Span<const Token> tokens,
                      size_t i) {
  return text.substr(tokens[i].span.end_byte,
                     tokens[i + 1].span.begin_byte - tokens[i].span.end_byte);
}

bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAsciiLower(char c) { return c >= 'a' && c <= 'z'; }

// The token's first letter is upper-case: lower-casing changed it (Token::
// norm is the lower-cased surface), which covers Latin, Greek, Cyrillic.
bool StartsUpper(absl::string_view surface, absl::string_view norm) {
  if (surface.empty() || norm.empty()) return false;
  char32_t a = 0, b = 0;
  text::DecodeUtf8(surface, 0, &a);
  text::DecodeUtf8(norm, 0, &b);
  return a != b;
}

bool IsAcronym(absl::string_view surface) {
  int upper = 0;
  for (char c : surface) {
    if (IsAsciiLower(c)) return false;
    if (IsAsciiUpper(c)) ++upper;
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return upper >= 2;
}

bool IsCamel(absl::string_view surface) {
  if (surface.empty() || !IsAsciiLower(surface[0])) return false;
  for (size_t i = 1; i < surface.size(); ++i) {
    if (IsAsciiUpper(surface[i]) && IsAsciiLower(surface[i - 1])) return true;
  }
  return false;
}

bool IsNumber(absl::string_view norm) {
  bool digit = false;
  for (char c : norm) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c != '.' && c != ',') {
      return false;
    }
  }
  return digit;
}

const absl::flat_hash_set<absl::string_view>& Calendar() {
  static const auto* words = new absl::flat_hash_set<absl::string_view>{
      "january",  "february", "march",    "april",     "may",
      "june",     "july",     "august",   "september", "october",
      "november", "december", "monday",   "tuesday",   "wednesday",
      "thursday", "friday",   "saturday", "sunday"};
  return *words;
}

const absl::flat_hash_set<absl::string_view>& Honorifics() {
  static const auto* words = new absl::flat_hash_set<absl::string_view>{
      "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "st", "madam"};
  return *words;
}

const absl::flat_hash_set<absl::string_view>& Connectors() {
  static const auto* words = new absl::flat_hash_set<absl::string_view>{
      "of", "de", "van", "von", "der", "du", "da", "del", "la", "le"};
  return *words;
}

// Drops a possessive 's (ASCII or typographic apostrophe).
std::string WithoutPossessive(absl::string_view norm) {
  for (absl::string_view suffix : {"'s", "\xE2\x80\x99s"}) {
    if (norm.size() > suffix.size() && absl::EndsWith(norm, suffix)) {
      return std::string(norm.substr(0, norm.size() - suffix.size()));
    }
  }
  return std::string(norm);
}

// Joined without spaces into one identifier: paths, dotted and scoped names.
bool IsJoiner(absl::string_view gap) {
  return gap == "/" || gap == "." || gap == "::" || gap == "-" || gap == "/.";
}

}  // namespace

std::vector<Mention> ExtractMentions(
    absl::string_view text, absl::Span<const Token> tokens,
    absl::Span<const uint32_t> sentence_starts) {
  const size_t n = tokens.size();
  std::vector<Mention> out;
  std::vector<bool> claimed(n, false);
  auto starts_sentence = [&](size_t i) {
    return std::binary_search(sentence_starts.begin(), sentence_starts.end(),
                              static_cast<uint32_t>(i));
  };

  // Identifiers.
  for (size_t i = 0; i < n; ++i) {
    const absl::string_view s = Surface(text, tokens[i]);
    const uint32_t b = tokens[i].span.begin_byte;
    const bool flag =
        b >= 2 && text.substr(b - 2, 2) == "--" &&
        (b == 2 ||
         absl::ascii_isspace(static_cast<unsigned char>(text[b - 3])) ||
         text[b - 3] == '`' || text[b - 3] == '(');
    const bool rooted =
        b >= 1 && text[b - 1] == '/' &&
        (b == 1 ||
         absl::ascii_isspace(static_cast<unsigned char>(text[b - 2])) ||
         text[b - 2] == '`' || text[b - 2] == '~');
    size_t j = i;
    bool structural = false;  // Joined by '/', '.' or '::'.
    while (j + 1 < n) {
      const absl::string_view gap = Gap(text, tokens, j);
      if (!IsJoiner(gap)) break;
      // A '.' or '-' joins words only (not "e.g", not "1.5-2").
      if ((gap == "." || gap == "-") &&
          (tokens[j].norm.size() < 2 || tokens[j + 1].norm.size() < 2)) {
        break;
      }
      if (gap != "-") structural = true;
      ++j;
    }
    const bool inner = absl::StrContains(tokens[i].norm, '_') || IsCamel(s);
    if (!(flag || structural || (rooted && j > i) || inner)) continue;
    if (!flag && !structural && !rooted) j = i;  // One word, no joins.
    const uint32_t begin = b - (flag ? 2 : rooted ? 1 : 0);
    const uint32_t end = tokens[j].span.end_byte;
    Mention m;
    m.key = std::string(text.substr(begin, end - begin));
    m.kind = EntityKind::kIdentifier;
    m.token_begin = static_cast<uint32_t>(i);
    m.token_end = static_cast<uint32_t>(j + 1);
    for (size_t k = i; k <= j; ++k) claimed[k] = true;
    out.push_back(std::move(m));
    i = j;
  }

  // Acronyms, names and numbers, left to right.
  for (size_t i = 0; i < n; ++i) {
    if (claimed[i]) continue;
    const absl::string_view s = Surface(text, tokens[i]);
    const std::string& norm = tokens[i].norm;
    if (IsNumber(norm)) {
      Mention m;
      m.key = norm;
      m.key.erase(std::remove(m.key.begin(), m.key.end(), ','), m.key.end());
      m.kind = EntityKind::kNumber;
      m.token_begin = static_cast<uint32_t>(i);
      m.token_end = static_cast<uint32_t>(i + 1);
      out.push_back(std::move(m));
      continue;
    }
    if (IsAcronym(s)) {
      out.push_back({norm, EntityKind::kAcronym, static_cast<uint32_t>(i),
                     static_cast<uint32_t>(i + 1), false});
      continue;
    }
    auto capitalised = [&](size_t k) {
      return k < n && !claimed[k] &&
             StartsUpper(Surface(text, tokens[k]), tokens[k].norm) &&
             !IsAcronym(Surface(text, tokens[k])) &&
             !IsNumber(tokens[k].norm) && !Calendar().contains(tokens[k].norm);
    };
    if (!capitalised(i)) continue;
    // The run of capitalised words.
    size_t j = i;
    while (j + 1 < n) {
      const absl::string_view gap = Gap(text, tokens, j);
      const bool abbreviated =
          Honorifics().contains(tokens[j].norm) || tokens[j].norm.size() == 1;
      if ((gap == " " || gap == "-" || (abbreviated && gap == ". ")) &&
          capitalised(j + 1)) {
        ++j;
      } else if (gap == " " && j + 2 < n &&
                 Connectors().contains(tokens[j + 1].norm) &&
                 Gap(text, tokens, j + 1) == " " && capitalised(j + 2)) {
        j += 2;
      } else {
        break;
      }
    }
    size_t first = i;
    const bool initial = starts_sentence(i);
    if (initial) {
      while (first <= j &&
             scoring::TermAnalyzer::IsStopword(tokens[first].norm))
        ++first;
    }
    while (first <= j && Honorifics().contains(tokens[first].norm)) ++first;
    if (first <= j) {
      std::vector<std::string> words;
      for (size_t k = first; k <= j; ++k) {
        words.push_back(k == j ? WithoutPossessive(tokens[k].norm)
                               : tokens[k].norm);
      }
      if (!(words.size() == 1 && scoring::TermAnalyzer::IsStopword(words[0]))) {
        Mention m;
        m.key = absl::StrJoin(words, " ");
        m.kind = EntityKind::kName;
        m.token_begin = static_cast<uint32_t>(first);
        m.token_end = static_cast<uint32_t>(j + 1);
        m.sentence_initial = initial && first == i && first == j;
        out.push_back(std::move(m));
      }
    }
    for (size_t k = i; k <= j; ++k) claimed[k] = true;
    i = j;
  }
  std::sort(out.begin(), out.end(), [](const Mention& a, const Mention& b) {
    return a.token_begin < b.token_begin;
  });
  return out;
}

}  // namespace attnr::entities

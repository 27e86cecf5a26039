#include "model/text/sentence_splitter.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace attnr::text {
namespace {

struct Line {
  uint32_t begin = 0;  // First byte of the line.
  uint32_t end = 0;    // One past the last byte, line terminator excluded.
  uint32_t next = 0;   // First byte of the following line (the text's end).
};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

// The line starting at byte `pos` (< text.size()). Lines are found as the
// splitter walks forward, never listed: a text of millions of short lines
// costs no memory for them.
Line LineAt(absl::string_view text, uint32_t pos) {
  const uint32_t n = static_cast<uint32_t>(text.size());
  uint32_t i = pos;
  while (i < n && text[i] != '\n' && text[i] != '\r') ++i;
  Line line{pos, i, i};
  if (i < n) {
    line.next = i + 1;
    if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++line.next;
  }
  return line;
}

absl::string_view Trimmed(absl::string_view text, Line line) {
  return absl::StripAsciiWhitespace(
      text.substr(line.begin, line.end - line.begin));
}

bool IsBlank(absl::string_view text, Line line) {
  return Trimmed(text, line).empty();
}

bool IsFence(absl::string_view text, Line line) {
  absl::string_view t = Trimmed(text, line);
  return absl::StartsWith(t, "```") || absl::StartsWith(t, "~~~");
}

bool IsAtxHeading(absl::string_view text, Line line) {
  absl::string_view t = Trimmed(text, line);
  size_t hashes = 0;
  while (hashes < t.size() && t[hashes] == '#') ++hashes;
  return hashes >= 1 && hashes <= 6 && hashes < t.size() && t[hashes] == ' ';
}

// "=====" or "-----" under a title line (Markdown/RST setext headings).
bool IsUnderline(absl::string_view text, Line line) {
  absl::string_view t = Trimmed(text, line);
  if (t.size() < 3) return false;
  const char c = t[0];
  if (c != '=' && c != '-' && c != '~' && c != '*') return false;
  return std::all_of(t.begin(), t.end(), [c](char x) { return x == c; });
}

bool IsListItem(absl::string_view text, Line line) {
  absl::string_view t = Trimmed(text, line);
  if (t.size() < 2) return false;
  if ((t[0] == '-' || t[0] == '*' || t[0] == '+') && t[1] == ' ') return true;
  if (absl::StartsWith(t, "\xE2\x80\xA2") ||  // U+2022 bullet.
      absl::StartsWith(t, "\xC2\xB7")) {      // U+00B7 middle dot.
    return true;
  }
  // "1. ", "12) ", "a) ", "(iv) ".
  size_t i = t[0] == '(' ? 1 : 0;
  const size_t start = i;
  while (i < t.size() && i - start < 3 &&
         std::isalnum(static_cast<unsigned char>(t[i]))) {
    ++i;
  }
  if (i == start || i + 1 >= t.size()) return false;
  const absl::string_view label = t.substr(start, i - start);
  const bool numeric = std::all_of(label.begin(), label.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  const bool letter =
      label.size() == 1 && std::islower(static_cast<unsigned char>(label[0]));
  if (!numeric && !letter) return false;
  const char mark = t[i];
  if (mark == ')' && t[i + 1] == ' ') return true;
  return numeric && mark == '.' && t[i + 1] == ' ';
}

// Abbreviations after which a '.' does not end a sentence even before a
// capital ("Dr. Smith", "Fig. 3", "e.g. Linux").
const absl::flat_hash_set<std::string>& NonTerminalAbbreviations() {
  static const auto* kSet = new absl::flat_hash_set<std::string>{
      "mr",  "mrs",    "ms",   "dr",  "prof", "sr",  "jr",   "st",   "vs",
      "e.g", "i.e",    "cf",   "fig", "figs", "no",  "nos",  "vol",  "pp",
      "p",   "approx", "dept", "mt",  "ca",   "al",  "resp", "ref",  "sec",
      "ch",  "eq",     "ex",   "op",  "viz",  "gen", "col",  "capt", "lt",
      "sgt", "rev",    "hon",  "jan", "feb",  "mar", "apr",  "jun",  "jul",
      "aug", "sep",    "sept", "oct", "nov",  "dec", "cmd",  "esp",  "incl",
      "max", "min",    "misc", "pt",  "tel",  "inc", "ltd"};
  return *kSet;
}

// True for a byte that may close a sentence after its stop: quotes and
// brackets ("He left.)" / 'word."').
bool IsCloser(char c) { return c == '"' || c == '\'' || c == ')' || c == ']'; }

size_t SkipClosers(absl::string_view text, size_t i, size_t end) {
  while (i < end) {
    if (IsCloser(text[i])) {
      ++i;
    } else if (i + 3 <= end && (text.substr(i, 3) == "\xE2\x80\x9D" ||
                                text.substr(i, 3) == "\xE2\x80\x99")) {
      i += 3;  // Right double / single quotation mark.
    } else {
      break;
    }
  }
  return i;
}

// Appends [begin, end) trimmed of whitespace as one block-starting unit.
void EmitTrimmed(absl::string_view text, uint32_t begin, uint32_t end,
                 SentenceKind kind, std::vector<SentenceBounds>* out) {
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  if (begin < end) out->push_back({begin, end, kind, true});
}

// Splits the prose in [begin, end) at sentence stops; appends trimmed ranges.
void SplitProse(absl::string_view text, uint32_t begin, uint32_t end,
                SentenceKind kind, bool starts_block, size_t max_sentences,
                std::vector<SentenceBounds>* out) {
  auto emit = [&](uint32_t b, uint32_t e) {
    while (b < e && IsSpace(text[b])) ++b;
    while (e > b && IsSpace(text[e - 1])) --e;
    if (b < e) {
      out->push_back({b, e, kind, starts_block});
      starts_block = false;
      kind = kind == SentenceKind::kListItem ? SentenceKind::kProse : kind;
    }
  };
  uint32_t sentence_begin = begin;
  uint32_t i = begin;
  while (i < end && (max_sentences == 0 || out->size() <= max_sentences)) {
    const char c = text[i];
    if (c != '.' && c != '!' && c != '?') {
      ++i;
      continue;
    }
    uint32_t j = i;
    bool has_strong = false;
    while (j < end && (text[j] == '.' || text[j] == '!' || text[j] == '?')) {
      has_strong |= text[j] != '.';
      ++j;
    }
    const uint32_t run_length = j - i;
    j = static_cast<uint32_t>(SkipClosers(text, j, end));
    if (j < end && !IsSpace(text[j])) {  // "3.14", "example.com", "a.b".
      i = j;
      continue;
    }
    uint32_t k = j;
    while (k < end && IsSpace(text[k])) ++k;
    if (k == end) break;  // The block's end closes the sentence anyway.
    const unsigned char next = static_cast<unsigned char>(text[k]);
    const bool next_lower = std::islower(next);
    bool boundary;
    if (has_strong) {
      boundary = !next_lower;
    } else if (next_lower) {
      // "approx. three", "etc. and" — English sentences do not start lower.
      boundary = false;
    } else if (run_length >= 3) {
      boundary = true;  // An ellipsis before a capital ends the sentence.
    } else {
      // Find the word before the stop: back to whitespace or an opener.
      uint32_t w = i;
      while (w > sentence_begin && !IsSpace(text[w - 1]) &&
             text[w - 1] != '(' && text[w - 1] != '"' && text[w - 1] != '[') {
        --w;
      }
      std::string word = absl::AsciiStrToLower(text.substr(w, i - w));
      const bool single_initial =
          word.size() == 1 && std::isupper(static_cast<unsigned char>(text[w]));
      const bool dotted = word.find('.') != std::string::npos;  // "U.S", "e.g".
      // "2.1. Options", "3. Usage": a section number opening the sentence.
      uint32_t first = sentence_begin;
      while (first < w && IsSpace(text[first])) ++first;
      const bool section_number =
          first == w && std::all_of(word.begin(), word.end(), [](char x) {
            return x == '.' || std::isdigit(static_cast<unsigned char>(x));
          });
      if (NonTerminalAbbreviations().contains(word) || single_initial ||
          section_number) {
        boundary = false;
      } else if (dotted) {
        // "U.S. The" ends a sentence; "e.g. Linux" was caught above.
        boundary = std::isupper(next) != 0;
      } else {
        boundary = true;
      }
    }
    if (boundary) {
      emit(sentence_begin, j);
      sentence_begin = j;
    }
    i = j;
  }
  emit(sentence_begin, end);
}

// A short first line of a multi-line paragraph, with no closing punctuation,
// followed by a capitalised line, is a title: "Installation\nRun the ...".
bool IsTitleLine(absl::string_view text, Line line, Line next) {
  absl::string_view t = Trimmed(text, line);
  absl::string_view n = Trimmed(text, next);
  if (t.empty() || t.size() > 60 || n.empty()) return false;
  const char last = t.back();
  if (last == '.' || last == ',' || last == ';' || last == ':' || last == '-' ||
      last == '!' || last == '?') {
    return false;
  }
  return std::isupper(static_cast<unsigned char>(n[0])) ||
         std::isdigit(static_cast<unsigned char>(n[0]));
}

bool IsLoneTitle(absl::string_view text, Line line) {
  absl::string_view t = Trimmed(text, line);
  if (t.empty() || t.size() > 80) return false;
  const char last = t.back();
  if (last == '.' || last == ',' || last == ';' || last == ':' || last == '!') {
    return false;
  }
  // Titles start with a capital, a digit or a quote; a lone lower-case line
  // is more likely a fragment or a command.
  const unsigned char c = static_cast<unsigned char>(t[0]);
  return std::isupper(c) || std::isdigit(c) || c >= 0x80;
}

constexpr uint32_t kMaxBlockBytes = 64 << 10;

}  // namespace

std::vector<SentenceBounds> SplitSentences(absl::string_view text,
                                           size_t max_sentences) {
  std::vector<SentenceBounds> out;
  const uint32_t n = static_cast<uint32_t>(text.size());
  auto full = [&] { return max_sentences > 0 && out.size() > max_sentences; };
  // A leading byte order mark is not text: no sentence starts with it.
  uint32_t p = absl::StartsWith(text, "\xEF\xBB\xBF") ? 3 : 0;
  bool after_break = true;  // At document start or after a blank line.
  while (p < n && !full()) {
    const Line line = LineAt(text, p);
    const bool has_next = line.next < n;
    const Line next = has_next ? LineAt(text, line.next) : Line{};
    if (IsBlank(text, line)) {
      after_break = true;
      p = line.next;
      continue;
    }
    if (IsFence(text, line)) {
      Line last = line;
      bool closed = false;
      for (uint32_t q = line.next; q < n;) {
        last = LineAt(text, q);
        if (IsFence(text, last)) {
          closed = true;
          break;
        }
        q = last.next;
      }
      // Code is one unit: no stop-based splitting inside it.
      EmitTrimmed(text, line.begin, last.end, SentenceKind::kCode, &out);
      p = closed ? last.next : n;
      after_break = true;
      continue;
    }
    if (IsUnderline(text, line)) {
      // A setext underline (its title was emitted) or a horizontal rule.
      after_break = true;
      p = line.next;
      continue;
    }
    const bool setext_title =
        has_next && IsUnderline(text, next) && !IsListItem(text, line);
    if (IsAtxHeading(text, line) || setext_title ||
        (after_break && has_next && !IsBlank(text, next) &&
         !IsListItem(text, line) && !IsFence(text, next) &&
         !IsUnderline(text, next) && IsTitleLine(text, line, next))) {
      // A heading is one unit even if it contains stops ("2.1. Setup").
      EmitTrimmed(text, line.begin, line.end, SentenceKind::kHeading, &out);
      p = setext_title ? next.next : line.next;
      after_break = true;
      continue;
    }
    // A paragraph of one short line without closing punctuation, standing
    // between blank lines, is a plain-text title ("Usage", "What is X?").
    const bool lone_line = after_break && (!has_next || IsBlank(text, next));
    if (lone_line && !IsListItem(text, line) && IsLoneTitle(text, line)) {
      EmitTrimmed(text, line.begin, line.end, SentenceKind::kHeading, &out);
      p = line.next;
      after_break = true;
      continue;
    }
    // A prose block: a paragraph or one list item, running until a blank
    // line, a fence, a heading, an underline or the next list item.
    const bool list_item = IsListItem(text, line);
    Line last = line;
    uint32_t q = line.next;
    while (q < n) {
      const Line l = LineAt(text, q);
      // A block is split in pieces of about kMaxBlockBytes at line ends, so
      // that the sentence limit is checked that often (a text of a million
      // one-line sentences and no blank line is one block).
      if (l.end - line.begin > kMaxBlockBytes) break;
      if (IsBlank(text, l) || IsFence(text, l) || IsAtxHeading(text, l) ||
          IsListItem(text, l) || IsUnderline(text, l) ||
          (l.next < n && IsUnderline(text, LineAt(text, l.next)))) {
        break;
      }
      last = l;
      q = l.next;
    }
    SplitProse(text, line.begin, last.end,
               list_item ? SentenceKind::kListItem : SentenceKind::kProse,
               after_break || list_item, max_sentences, &out);
    after_break = false;
    p = q;
  }
  return out;
}

}  // namespace attnr::text

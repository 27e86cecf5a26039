#include "model/scoring/term_analyzer.h"

#include <libstemmer.h>

#include <cstdlib>
#include <string>

#include "absl/container/flat_hash_set.h"

namespace attnr::scoring {
namespace {

// Snowball's English stopword list (snowballstem.org, english/stop.txt),
// which matches the stemmer's view of function words.
const absl::flat_hash_set<absl::string_view>& Stopwords() {
  static const auto* kSet = new absl::flat_hash_set<absl::string_view>{
      "i",       "me",       "my",         "myself",     "we",
      "our",     "ours",     "ourselves",  "you",        "your",
      "yours",   "yourself", "yourselves", "he",         "him",
      "his",     "himself",  "she",        "her",        "hers",
      "herself", "it",       "its",        "itself",     "they",
      "them",    "their",    "theirs",     "themselves", "what",
      "which",   "who",      "whom",       "this",       "that",
      "these",   "those",    "am",         "is",         "are",
      "was",     "were",     "be",         "been",       "being",
      "have",    "has",      "had",        "having",     "do",
      "does",    "did",      "doing",      "would",      "should",
      "could",   "ought",    "i'm",        "you're",     "he's",
      "she's",   "it's",     "we're",      "they're",    "i've",
      "you've",  "we've",    "they've",    "i'd",        "you'd",
      "he'd",    "she'd",    "we'd",       "they'd",     "i'll",
      "you'll",  "he'll",    "she'll",     "we'll",      "they'll",
      "isn't",   "aren't",   "wasn't",     "weren't",    "hasn't",
      "haven't", "hadn't",   "doesn't",    "don't",      "didn't",
      "won't",   "wouldn't", "shan't",     "shouldn't",  "can't",
      "cannot",  "couldn't", "mustn't",    "let's",      "that's",
      "who's",   "what's",   "here's",     "there's",    "when's",
      "where's", "why's",    "how's",      "a",          "an",
      "the",     "and",      "but",        "if",         "or",
      "because", "as",       "until",      "while",      "of",
      "at",      "by",       "for",        "with",       "about",
      "against", "between",  "into",       "through",    "during",
      "before",  "after",    "above",      "below",      "to",
      "from",    "up",       "down",       "in",         "out",
      "on",      "off",      "over",       "under",      "again",
      "further", "then",     "once",       "here",       "there",
      "when",    "where",    "why",        "how",        "all",
      "any",     "both",     "each",       "few",        "more",
      "most",    "other",    "some",       "such",       "no",
      "nor",     "not",      "only",       "own",        "same",
      "so",      "than",     "too",        "very"};
  return *kSet;
}

}  // namespace

TermAnalyzer::TermAnalyzer() : stemmer_(sb_stemmer_new("english", "UTF_8")) {
  // libstemmer returns null only for an unknown algorithm or out of memory;
  // "english" is compiled into every build, so this is a broken install.
  if (stemmer_ == nullptr) std::abort();
}

TermAnalyzer::~TermAnalyzer() { sb_stemmer_delete(stemmer_); }

bool TermAnalyzer::IsStopword(absl::string_view norm) {
  return Stopwords().contains(norm);
}

std::string TermAnalyzer::Term(absl::string_view norm) {
  if (IsStopword(norm)) return "";
  const sb_symbol* stem =
      sb_stemmer_stem(stemmer_, reinterpret_cast<const sb_symbol*>(norm.data()),
                      static_cast<int>(norm.size()));
  if (stem == nullptr) return std::string(norm);  // Out of memory: unstemmed.
  return std::string(reinterpret_cast<const char*>(stem),
                     sb_stemmer_length(stemmer_));
}

}  // namespace attnr::scoring

#include "model/scoring/lexical_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "model/scoring/term_analyzer.h"

namespace attnr::scoring {
namespace {

constexpr uint32_t kNoTerm = UINT32_MAX;

// Maps token norms to term ids, stemming each distinct norm once: a long
// document repeats its vocabulary, so this memo removes most stemmer calls.
class TermDictionary {
 public:
  uint32_t IdOf(absl::string_view norm) {
    auto it = by_norm_.find(norm);
    if (it != by_norm_.end()) return it->second;
    const std::string term = analyzer_.Term(norm);
    uint32_t id = kNoTerm;
    if (!term.empty()) {
      auto [t, inserted] =
          by_term_.emplace(term, static_cast<uint32_t>(by_term_.size()));
      id = t->second;
    }
    by_norm_.emplace(std::string(norm), id);
    return id;
  }

 private:
  TermAnalyzer analyzer_;
  absl::flat_hash_map<std::string, uint32_t> by_norm_;
  absl::flat_hash_map<std::string, uint32_t> by_term_;
};

}  // namespace

LexicalScores ScoreLexical(const std::vector<text::Token>& query,
                           const std::vector<TokenSlice>& units,
                           bool with_matched_terms, Bm25Params params) {
  TermDictionary dictionary;
  // Term ids per distinct token sequence, computed once even when units
  // overlap or share a document.
  absl::flat_hash_map<const std::vector<text::Token>*, std::vector<uint32_t>>
      sequence_terms;
  std::vector<std::vector<uint32_t>> unit_terms;
  unit_terms.reserve(units.size());
  for (const TokenSlice& unit : units) {
    auto [it, inserted] = sequence_terms.try_emplace(unit.tokens);
    if (inserted) {
      it->second.reserve(unit.tokens->size());
      for (const text::Token& t : *unit.tokens) {
        it->second.push_back(dictionary.IdOf(t.norm));
      }
    }
    std::vector<uint32_t> terms;
    terms.reserve(unit.token_end - unit.token_begin);
    for (uint32_t i = unit.token_begin; i < unit.token_end; ++i) {
      if (it->second[i] != kNoTerm) terms.push_back(it->second[i]);
    }
    unit_terms.push_back(std::move(terms));
  }

  std::vector<uint32_t> query_terms;
  std::vector<std::pair<uint32_t, std::string>> query_words;
  for (const text::Token& t : query) {
    const uint32_t id = dictionary.IdOf(t.norm);
    if (id == kNoTerm) continue;
    query_terms.push_back(id);
    query_words.emplace_back(id, t.norm);
  }

  const Bm25Index index(unit_terms, params);
  LexicalScores out;
  out.scores = index.Score(query_terms);
  if (with_matched_terms) {
    out.matched_terms.resize(units.size());
    for (size_t u = 0; u < units.size(); ++u) {
      if (out.scores[u] <= 0) continue;
      const absl::flat_hash_set<uint32_t> present(unit_terms[u].begin(),
                                                  unit_terms[u].end());
      absl::flat_hash_set<std::string> seen;
      for (const auto& [id, word] : query_words) {
        if (present.contains(id) && seen.insert(word).second) {
          out.matched_terms[u].push_back(word);
        }
      }
    }
  }
  return out;
}

}  // namespace attnr::scoring

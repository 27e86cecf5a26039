#include "model/views/lexical_view.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "model/scoring/term_analyzer.h"

namespace attnr::views {

absl::StatusOr<ViewScores> LexicalView::Score(const ViewRequest& request,
                                              const Derived* derived,
                                              ViewUsage* usage) const {
  const std::vector<Unit>& units = request.units;
  ViewScores out;
  out.scores.assign(request.scored, 0.0);
  if (request.explain) out.reasons.resize(request.scored);

  // The query's distinct terms in query order, with their counts and the
  // words that produced them.
  struct QueryTerm {
    std::string term;
    uint32_t count = 0;
    std::vector<uint32_t> ids;  // Per sequence.
  };
  std::vector<QueryTerm> terms;
  std::vector<std::pair<size_t, std::string>> words;  // (term index, word)
  {
    scoring::TermAnalyzer analyzer;
    for (const text::Token& t : *request.query) {
      std::string term = analyzer.Term(t.norm);
      if (term.empty()) continue;
      size_t i = 0;
      while (i < terms.size() && terms[i].term != term) ++i;
      if (i == terms.size()) terms.push_back({std::move(term), 0, {}});
      ++terms[i].count;
      words.emplace_back(i, t.norm);
    }
  }
  for (QueryTerm& q : terms) {
    for (const Sequence& s : request.sequences) {
      q.ids.push_back(s.terms->IdOf(q.term));
    }
  }

  const double n = static_cast<double>(units.size());
  uint64_t total = 0;
  for (const Unit& u : units) {
    total +=
        request.sequences[u.sequence].terms->Length(u.token_begin, u.token_end);
  }
  if (units.empty() || total == 0) return out;
  const double average = static_cast<double>(total) / n;

  std::vector<uint32_t> tf(units.size());
  // present[u]: the query terms that occur in unit u (explain only).
  std::vector<absl::flat_hash_set<size_t>> present(
      request.explain ? request.scored : 0);
  for (size_t i = 0; i < terms.size(); ++i) {
    uint32_t df = 0;
    for (size_t u = 0; u < units.size(); ++u) {
      const Unit& unit = units[u];
      tf[u] = request.sequences[unit.sequence].terms->Count(
          terms[i].ids[unit.sequence], unit.token_begin, unit.token_end);
      if (tf[u] > 0) ++df;
    }
    if (df == 0) continue;
    const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    for (size_t u = 0; u < request.scored; ++u) {
      if (tf[u] == 0) continue;
      const Unit& unit = units[u];
      const double length = request.sequences[unit.sequence].terms->Length(
          unit.token_begin, unit.token_end);
      const double norm =
          params_.k1 * (1.0 - params_.b + params_.b * length / average);
      out.scores[u] +=
          terms[i].count * idf * tf[u] * (params_.k1 + 1.0) / (tf[u] + norm);
      if (request.explain) present[u].insert(i);
    }
  }
  if (request.explain) {
    for (size_t u = 0; u < request.scored; ++u) {
      absl::flat_hash_set<std::string> seen;
      for (const auto& [i, word] : words) {
        if (present[u].contains(i) && seen.insert(word).second) {
          out.reasons[u].push_back(word);
        }
      }
    }
  }
  return out;
}

}  // namespace attnr::views

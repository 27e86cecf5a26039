#include "model/views/entity_view.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/types/span.h"

namespace attnr::views {

absl::StatusOr<ViewScores> EntityView::Score(const ViewRequest& request,
                                             const Derived* derived,
                                             ViewUsage* usage) const {
  ViewScores out;
  out.scores.assign(request.scored, 0.0);
  if (request.explain) out.reasons.resize(request.scored);

  // Per sequence, the importance of each of the query's entities there
  // (0: not counted).
  struct Weighted {
    uint32_t entity;
    double weight;
  };
  std::vector<std::vector<Weighted>> query_entities(request.sequences.size());
  for (size_t s = 0; s < request.sequences.size(); ++s) {
    const Sequence& seq = request.sequences[s];
    if (seq.entities == nullptr || seq.sentences == nullptr) continue;
    const double sentences = static_cast<double>(seq.sentences->size());
    for (uint32_t e : entities::QueryEntities(
             request.query_text, absl::MakeConstSpan(*request.query),
             *seq.entities)) {
      const double df =
          static_cast<double>(seq.entities->sentences_of(e).size());
      if (df == 0 || (df > options_.always_counted_sentences &&
                      df > options_.max_sentence_share * sentences)) {
        continue;
      }
      query_entities[s].push_back({e, std::log(1.0 + sentences / df)});
    }
  }

  std::vector<uint32_t> seen;
  for (size_t u = 0; u < request.scored; ++u) {
    const Unit& unit = request.units[u];
    const std::vector<Weighted>& wanted = query_entities[unit.sequence];
    if (wanted.empty()) continue;
    const Sequence& seq = request.sequences[unit.sequence];
    const std::vector<text::Sentence>& sentences = *seq.sentences;
    // The first sentence that ends after the unit starts.
    auto it = std::upper_bound(
        sentences.begin(), sentences.end(), unit.token_begin,
        [](uint32_t t, const text::Sentence& s) { return t < s.token_end; });
    seen.clear();
    for (; it != sentences.end() && it->token_begin < unit.token_end; ++it) {
      for (uint32_t e : seq.entities->entities_of(it - sentences.begin())) {
        if (std::find(seen.begin(), seen.end(), e) != seen.end()) continue;
        for (const Weighted& w : wanted) {
          if (w.entity != e) continue;
          seen.push_back(e);
          out.scores[u] += w.weight;
          if (request.explain) {
            out.reasons[u].push_back(seq.entities->display(e));
          }
        }
      }
    }
  }
  return out;
}

}  // namespace attnr::views

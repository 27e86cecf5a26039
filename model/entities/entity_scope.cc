#include "model/entities/entity_scope.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"

namespace attnr::entities {

std::vector<ScopeHit> FollowBridges(const EntityGraph& graph,
                                    absl::Span<const uint32_t> query_entities,
                                    absl::Span<const uint32_t> seeds,
                                    const ScopeParams& params) {
  std::vector<ScopeHit> hits;
  if (query_entities.empty()) return hits;
  absl::flat_hash_set<uint32_t> seen_entities(query_entities.begin(),
                                              query_entities.end());
  absl::flat_hash_set<uint32_t> seen_sentences(seeds.begin(), seeds.end());
  // The first frontier: seeds that mention a query entity (the sentences
  // that say how the query's entities relate to others).
  std::vector<ScopeHit> frontier;
  // A query entity the document mentions everywhere ("Debian" in the
  // Debian FAQ) says nothing about which sentences belong together.
  auto specific = [&](uint32_t e) {
    return std::find(query_entities.begin(), query_entities.end(), e) !=
               query_entities.end() &&
           graph.sentences_of(e).size() <= params.max_bridge_sentences;
  };
  for (uint32_t s : seeds) {
    const auto& entities = graph.entities_of(s);
    if (std::any_of(entities.begin(), entities.end(), specific)) {
      frontier.push_back({s, {}, 0, s});
    }
  }
  absl::flat_hash_set<uint32_t> in_frontier;
  for (const ScopeHit& f : frontier) in_frontier.insert(f.sentence);
  for (int hop = 1; hop <= params.hops && !frontier.empty(); ++hop) {
    // This hop's bridges: names before other kinds, rarer ones first (a
    // name in two sentences says most about which sentence completes the
    // answer; identifiers of a code block are weaker links).
    struct Bridge {
      uint32_t entity;
      const ScopeHit* from;
    };
    std::vector<Bridge> bridges;
    for (const ScopeHit& from : frontier) {
      for (uint32_t e : graph.entities_of(from.sentence)) {
        const size_t df = graph.sentences_of(e).size();
        if (seen_entities.contains(e) || graph.kind(e) == EntityKind::kNumber ||
            df < 2 || df > params.max_bridge_sentences) {
          continue;
        }
        seen_entities.insert(e);
        bridges.push_back({e, &from});
      }
    }
    std::stable_sort(
        bridges.begin(), bridges.end(), [&](const Bridge& a, const Bridge& b) {
          const bool an = graph.kind(a.entity) == EntityKind::kName;
          const bool bn = graph.kind(b.entity) == EntityKind::kName;
          if (an != bn) return an;
          return graph.sentences_of(a.entity).size() <
                 graph.sentences_of(b.entity).size();
        });
    std::vector<ScopeHit> next;
    for (const Bridge& b : bridges) {
      for (uint32_t s : graph.sentences_of(b.entity)) {
        ScopeHit hit{s, b.from->via, hop, b.from->seed};
        hit.via.push_back(b.entity);
        // A sentence already shown (a seed) is not added again, but the
        // chain goes on from it.
        if (seen_sentences.insert(s).second) {
          if (hits.size() >= params.max_sentences) return hits;
          hits.push_back(hit);
        }
        if (in_frontier.insert(s).second) next.push_back(std::move(hit));
      }
    }
    frontier = std::move(next);
  }
  return hits;
}

}  // namespace attnr::entities

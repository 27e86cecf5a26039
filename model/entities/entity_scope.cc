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

void AddScopePassages(absl::string_view query,
                      const std::vector<text::Token>& query_tokens,
                      const std::vector<ScopedDocument>& documents,
                      const std::vector<ScoreDetail>& details, uint32_t top_k,
                      std::vector<RetrievedPassage>* ranked) {
  // The chains start from the best few matches: further down the list a
  // match is too weak to vouch for what it links to.
  constexpr size_t kSeedPassages = 3;
  std::vector<uint32_t> first_unit(documents.size() + 1, 0);
  for (size_t d = 0; d < documents.size(); ++d) {
    first_unit[d + 1] = first_unit[d] + documents[d].passages->size();
  }
  const size_t seeds_n = std::min(kSeedPassages, ranked->size());
  // Per seed passage, what its chains reached (inserted after it), and the
  // ranked passages moved there.
  std::vector<std::vector<RetrievedPassage>> after(seeds_n);
  std::vector<bool> moved(ranked->size(), false);
  for (uint32_t d = 0; d < documents.size(); ++d) {
    const EntityGraph& graph = *documents[d].graph;
    const std::vector<text::PassageBounds>& passages = *documents[d].passages;
    const std::vector<uint32_t> query_entities =
        QueryEntities(query, query_tokens, graph);
    if (query_entities.empty()) continue;
    std::vector<uint32_t> seeds;
    std::vector<size_t> seed_rank;  // Per seed sentence, its passage's rank.
    for (size_t r = 0; r < seeds_n; ++r) {
      const RetrievedPassage& p = (*ranked)[r];
      if (p.document_index != d) continue;
      // Every passage the returned range holds (one, or more when it grew).
      for (const text::PassageBounds& b : passages) {
        if (b.span.begin_byte < p.span.begin_byte ||
            b.span.end_byte > p.span.end_byte) {
          continue;
        }
        for (uint32_t s = b.sentence_begin; s < b.sentence_end; ++s) {
          if (std::find(seeds.begin(), seeds.end(), s) != seeds.end()) continue;
          seeds.push_back(s);
          seed_rank.push_back(r);
        }
      }
    }
    const std::vector<ScopeHit> hits =
        FollowBridges(graph, query_entities, seeds, {});
    for (const ScopeHit& hit : hits) {
      // The first passage holding the sentence.
      auto it = std::find_if(passages.begin(), passages.end(),
                             [&](const text::PassageBounds& b) {
                               return b.sentence_begin <= hit.sentence &&
                                      hit.sentence < b.sentence_end;
                             });
      if (it == passages.end()) continue;
      RetrievedPassage p;
      p.document_index = d;
      p.span = it->span;
      p.sentences = it->sentence_end - it->sentence_begin;
      p.origin = PassageOrigin::kEntityScope;
      for (uint32_t e : hit.via) p.entities.push_back(graph.display(e));
      const auto overlaps = [&](const RetrievedPassage& q) {
        return Overlaps(p, q);
      };
      bool placed = false;
      for (const auto& list : after) {
        placed |= std::any_of(list.begin(), list.end(), overlaps);
      }
      if (placed) continue;
      // After the seed passage whose sentence the chain started from.
      const size_t seed =
          seed_rank[std::find(seeds.begin(), seeds.end(), hit.seed) -
                    seeds.begin()];
      auto shown = std::find_if(ranked->begin(), ranked->end(), overlaps);
      if (shown != ranked->end()) {
        // A match ranked below its seed moves up to follow it (keeping its
        // own origin); one above it stays.
        const size_t at = shown - ranked->begin();
        if (at <= seed || moved[at]) continue;
        moved[at] = true;
        RetrievedPassage up = *shown;
        up.entities = p.entities;
        after[seed].push_back(std::move(up));
        continue;
      }
      p.detail = details[first_unit[d] + (it - passages.begin())];
      after[seed].push_back(std::move(p));
    }
  }
  std::vector<RetrievedPassage> out;
  out.reserve(ranked->size());
  for (size_t r = 0; r < ranked->size(); ++r) {
    if (!moved[r]) out.push_back(std::move((*ranked)[r]));
    if (r < after.size()) {
      for (RetrievedPassage& p : after[r]) out.push_back(std::move(p));
    }
  }
  if (out.size() > top_k) out.resize(top_k);
  *ranked = std::move(out);
}

}  // namespace attnr::entities

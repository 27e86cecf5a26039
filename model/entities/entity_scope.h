#ifndef ATTNR_MODEL_ENTITIES_ENTITY_SCOPE_H_
#define ATTNR_MODEL_ENTITIES_ENTITY_SCOPE_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "model/entities/entity_graph.h"
#include "model/retrieval_types.h"
#include "model/text/passage_builder.h"
#include "model/text/tokenizer.h"

namespace attnr::entities {

struct ScopeParams {
  // Bridge hops followed from the query's matches (2 reaches the end of a
  // three-sentence chain).
  int hops = 2;
  // Sentences one question's scope may add.
  size_t max_sentences = 4;
  // A bridge mentioned in more sentences than this is too common to say
  // which sentence completes the answer.
  size_t max_bridge_sentences = 6;
};

// A sentence the scope reached, and the entities that led there.
struct ScopeHit {
  uint32_t sentence = 0;
  std::vector<uint32_t> via;  // Bridge entities, in the order followed.
  int hop = 1;
  uint32_t seed = 0;  // The seed sentence the chain started from.
};

// The retrieval scope (the AttentionRetriever paper's entity graph): from
// the `seeds` (sentences of the best query matches, best first) that
// mention one of the query's entities (one the document mentions in at most
// max_bridge_sentences sentences), follow bridge entities — entities of
// those sentences the query does not name, not numbers, mentioned in 2 to
// max_bridge_sentences sentences; names first, rarer first — to the other
// sentences that mention them, then on from those, `hops` times. A seed
// reached again is not returned but the chain goes on from it. Returns the
// sentences reached, in the order found, at most max_sentences. Empty when
// the query names no entity of the document.
std::vector<ScopeHit> FollowBridges(const EntityGraph& graph,
                                    absl::Span<const uint32_t> query_entities,
                                    absl::Span<const uint32_t> seeds,
                                    const ScopeParams& params);

// What AddScopePassages reads of each of a request's documents.
struct ScopedDocument {
  const EntityGraph* graph = nullptr;
  const std::vector<text::PassageBounds>* passages = nullptr;
};

// The retrieval scope over a ranked list: the passages reached through
// bridge entities (FollowBridges) from the sentences of the best few
// matches in `ranked`, each put right after the match its chain started
// from, as ENTITY_SCOPE with the linking entities (a match ranked below its
// seed moves up to follow it, keeping its origin); then cut to `top_k`.
// `details` are the fused details of every passage of `documents`, in
// document then passage order (those of passages not yet returned are
// used).
void AddScopePassages(absl::string_view query,
                      const std::vector<text::Token>& query_tokens,
                      const std::vector<ScopedDocument>& documents,
                      const std::vector<ScoreDetail>& details, uint32_t top_k,
                      std::vector<RetrievedPassage>* ranked);

}  // namespace attnr::entities

#endif  // ATTNR_MODEL_ENTITIES_ENTITY_SCOPE_H_

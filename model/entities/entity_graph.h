#ifndef ATTNR_MODEL_ENTITIES_ENTITY_GRAPH_H_
#define ATTNR_MODEL_ENTITIES_ENTITY_GRAPH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "model/entities/entity_extractor.h"
#include "model/text/analyzed_document.h"

namespace attnr::entities {

// A document's entities and the sentences that mention them (both ways),
// built once with the document's analysis and cached with it. A one-word
// name that is the first or last word of exactly one longer name in the
// document is that entity ("Darcy" -> "fitzwilliam darcy"); a one-word name
// seen only opening sentences is not an entity.
class EntityGraph {
 public:
  EntityGraph() = default;
  static EntityGraph Build(absl::string_view text,
                           const text::AnalyzedDocument& doc);

  size_t size() const { return keys_.size(); }
  const std::string& key(uint32_t entity) const { return keys_[entity]; }
  // The entity as first written in the document ("Mundlin Garvikan").
  const std::string& display(uint32_t entity) const {
    return displays_[entity];
  }
  EntityKind kind(uint32_t entity) const { return kinds_[entity]; }
  // Sorted sentence indices that mention `entity`.
  const std::vector<uint32_t>& sentences_of(uint32_t entity) const {
    return sentences_of_[entity];
  }
  // Entities a sentence mentions, in order of first mention.
  const std::vector<uint32_t>& entities_of(uint32_t sentence) const;

  // The entity a mention's key names here (aliases resolved), if any.
  std::optional<uint32_t> Find(absl::string_view key) const;

  size_t bytes() const;

 private:
  std::vector<std::string> keys_, displays_;
  std::vector<EntityKind> kinds_;
  std::vector<std::vector<uint32_t>> sentences_of_;
  std::vector<std::vector<uint32_t>> entities_of_;
  absl::flat_hash_map<std::string, uint32_t> id_of_;  // Aliases included.
};

// The entities of a query (its own text) found in `graph`, each once, in
// query order.
std::vector<uint32_t> QueryEntities(absl::string_view query,
                                    absl::Span<const text::Token> tokens,
                                    const EntityGraph& graph);

}  // namespace attnr::entities

#endif  // ATTNR_MODEL_ENTITIES_ENTITY_GRAPH_H_

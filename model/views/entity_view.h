#ifndef ATTNR_MODEL_VIEWS_ENTITY_VIEW_H_
#define ATTNR_MODEL_VIEWS_ENTITY_VIEW_H_

#include "model/views/scoring_view.h"

namespace attnr::views {

struct EntityViewOptions {
  // An entity mentioned in more than this share of a document's sentences
  // ("Debian" in the Debian FAQ) says nothing about where the answer is and
  // is not counted (the share is bench/results/ENTITY_VIEW.md's choice).
  double max_sentence_share = 0.01;
  // ...but one in at most this many sentences always counts (in a short
  // document 1% is less than one sentence).
  uint32_t always_counted_sentences = 2;
};

// The entity view (entity weighting): a unit's score is the importance of
// the query's entities it mentions, an entity's importance its rarity in
// the document, log(1 + sentences / sentences mentioning it). Entities come
// from the document's entity graph (model/entities/), so "Mr. Darcy",
// "Darcy" and "Darcy's" count as one; a unit mentions an entity when one of
// the sentences it overlaps does. Fused like any view, it raises the units
// that carry the query's rare entities. Reasons: the entities, as the
// document first wrote them.
class EntityView : public ScoringView {
 public:
  explicit EntityView(EntityViewOptions options = {}) : options_(options) {}

  ViewKind kind() const override { return ViewKind::kEntity; }
  bool neural() const override { return false; }
  absl::StatusOr<std::unique_ptr<const Derived>> Derive(
      const ViewRequest& request, uint64_t budget_tokens,
      ViewUsage* usage) const override {
    return nullptr;  // The graph is part of every document's analysis.
  }
  absl::StatusOr<ViewScores> Score(const ViewRequest& request,
                                   const Derived* derived,
                                   ViewUsage* usage) const override;

 private:
  EntityViewOptions options_;
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_ENTITY_VIEW_H_

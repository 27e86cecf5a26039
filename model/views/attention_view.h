#ifndef ATTNR_MODEL_VIEWS_ATTENTION_VIEW_H_
#define ATTNR_MODEL_VIEWS_ATTENTION_VIEW_H_

#include <memory>
#include <string>

#include "model/document_cache.h"
#include "model/network/attention_model.h"
#include "model/scoring/attention_scorer.h"
#include "model/views/model_gate.h"
#include "model/views/scoring_view.h"

namespace attnr::views {

// The attention view (AttentionRetriever): the trained transformer encodes
// each sequence once (its keys at every layer, cached by sequence digest and
// weights digest), then the query's tokens attend over all of them and
// scoring::AttentionViewScorer turns their attention into unit scores.
// Reasons: the query words whose attention lifts the unit.
// The view reads whole sequences, so it takes no budget: a request pays for
// encoding every document it has not seen.
class AttentionView : public ScoringView {
 public:
  // `gate` serializes the model's work with every other neural view's.
  AttentionView(std::unique_ptr<network::AttentionModel> model,
                scoring::AttentionViewParams params, size_t cache_bytes,
                ModelGate* gate);

  ViewKind kind() const override { return ViewKind::kAttention; }
  bool neural() const override { return true; }
  std::string model_name() const override;
  std::string model_sha256() const override { return model_->sha256(); }

  absl::StatusOr<std::unique_ptr<const Prepared>> Prepare(
      const ViewRequest& request, uint64_t budget_tokens,
      ViewUsage* usage) const override;
  absl::StatusOr<ViewScores> Score(const ViewRequest& request,
                                   const Prepared* prepared,
                                   ViewUsage* usage) const override;

  const network::AttentionModel& model() const { return *model_; }
  const DocumentCache<network::EncodedDocument>& cache() const {
    return cache_;
  }

 private:
  std::unique_ptr<network::AttentionModel> model_;
  scoring::AttentionViewParams params_;
  mutable DocumentCache<network::EncodedDocument> cache_;
  ModelGate* gate_;
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_ATTENTION_VIEW_H_

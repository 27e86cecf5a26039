#ifndef ATTNR_MODEL_VIEWS_VIEW_RUNNER_H_
#define ATTNR_MODEL_VIEWS_VIEW_RUNNER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/retrieval_types.h"
#include "model/views/calibrated_fusion.h"
#include "model/views/fusion.h"
#include "model/views/model_gate.h"
#include "model/views/scoring_view.h"

namespace attnr::views {

// Runs a request's views over its units and fuses them: the views that
// need no network first, whose fused order sets where the neural views
// spend their budget; then the neural views cheapest first; then the
// calibrated fusion when it covers the views, else weighted reciprocal
// rank. Owns the views, the gate their model work passes and the neural
// budget's pacing. Thread-safe.
class ViewRunner {
 public:
  struct Options {
    // Per-view weights in rank fusion (a view not named weighs 1).
    FusionWeights fusion_weights;
    // New network tokens one call may spend per neural view before it
    // answers (0: no limit); shrunk to fit a deadline.
    uint64_t neural_budget_tokens = 0;
  };

  ViewRunner(std::vector<std::unique_ptr<ScoringView>> views,
             std::unique_ptr<ModelGate> gate,
             std::optional<CalibratedFusion> fusion, Options options);

  // The view of `kind`, or null when it is not loaded.
  const ScoringView* view(ViewKind kind) const;
  const std::vector<std::unique_ptr<ScoringView>>& views() const {
    return views_;
  }
  const std::optional<CalibratedFusion>& calibrated_fusion() const {
    return calibrated_fusion_;
  }
  // Model steps waiting for their turn now.
  size_t turns_waiting() const { return gate_->waiting(); }

  // Fused details of units[0, scored) for `kinds`: neural views spend at
  // most `budget_tokens` of new work each (0: no limit). `view_weights`
  // (a request's own, from ResolveViewWeights) replace the fusion's
  // weights. With request.explain_sentences, `sentence_attention` gets an
  // attention view's per-sequence, per-sentence attention.
  absl::StatusOr<std::vector<ScoreDetail>> Score(
      ViewRequest& request, const std::vector<ViewKind>& kinds,
      const FusionWeights& view_weights, uint64_t budget_tokens,
      RetrievalUsage* usage,
      std::vector<std::vector<double>>* sentence_attention = nullptr,
      CalibratedFusion::Units units =
          CalibratedFusion::Units::kDocumentPassages) const;

  // Runs every neural view of `kinds` over all of request's units with no
  // budget (a warm-up: the views cache what they derive).
  absl::Status Warm(const ViewRequest& request,
                    const std::vector<ViewKind>& kinds,
                    RetrievalUsage* usage) const;

  // A request's view_weights, or INVALID_ARGUMENT when one names a view the
  // request does not fuse or every fused view would weigh 0.
  absl::StatusOr<FusionWeights> ResolveViewWeights(
      const std::vector<std::pair<ViewKind, double>>& requested,
      const std::vector<ViewKind>& kinds) const;

  // The neural budget of a call with `stop`'s deadline: the configured
  // budget, shrunk to the new encoder tokens the recent encode rate fits
  // into half the time left (the rest answers), at least 1 token. Calls
  // without a deadline get the configured budget.
  uint64_t BudgetWithin(const StopSignal& stop) const;
  // Folds a call's new encoder work into the recent encode rate.
  void RecordEncodeRate(const RetrievalUsage& usage) const;

 private:
  void FuseAll(const std::vector<ViewKind>& kinds,
               const FusionWeights& view_weights,
               std::vector<ScoreDetail>* details,
               CalibratedFusion::Units units) const;
  // Orders the units for the neural views' budget by the cheap views, or
  // by BM25 alone when the request fuses no cheap view.
  absl::Status SetPriority(ViewRequest& request,
                           const std::vector<ViewKind>& cheap,
                           uint64_t budget_tokens,
                           std::vector<ScoreDetail>* details) const;

  Options options_;
  std::optional<CalibratedFusion> calibrated_fusion_;
  // The one gate every neural view's model work passes (see ModelGate).
  std::unique_ptr<ModelGate> gate_;
  // Lexical first; then the views the configuration loads.
  std::vector<std::unique_ptr<ScoringView>> views_;
  // New encoder tokens per millisecond of neural work, recent calls
  // weighted most (0 until a call has encoded).
  mutable std::atomic<double> encode_rate_{0};
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_VIEW_RUNNER_H_

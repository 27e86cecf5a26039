#ifndef ATTNR_MODEL_VIEWS_CALIBRATED_FUSION_H_
#define ATTNR_MODEL_VIEWS_CALIBRATED_FUSION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/retrieval_types.h"
#include "model/views/fusion.h"
#include "model/views/view_registry.h"

namespace attnr::views {

// The default fusion, chosen by cross-validation over documents on real
// questions (bench/cv_fusion.py -> bench/results/FUSION.md): a convex
// combination of each view's scores normalised over the request's units
// (z-score or min-max; Bruch, Gai & Ingber, ACM TOIS 2023), then a
// logistic (Platt) calibration of that combination fitted on held-out
// folds, so a unit's fused score estimates P(it answers the question)
// among the units of its request. Passages of documents (Retrieve) and
// whole candidates a caller sends (Score, /v1/rerank) are calibrated apart:
// a candidate set is a few texts, a document hundreds of passages.
class CalibratedFusion {
 public:
  enum class Units { kDocumentPassages, kCandidates };

  // Reads the parameter file bench/cv_fusion.py writes (JSON: method
  // "convex", normalization "z" or "minmax", views, weights, calibration
  // {slope, intercept}; budgeted_calibration for requests whose budget
  // left passages unjudged and score_calibration for candidates, each
  // defaulting to calibration). Errors: NOT_FOUND, DATA_LOSS naming what is
  // malformed, FAILED_PRECONDITION when `sha256` (unless empty) differs
  // from the file's.
  static absl::StatusOr<CalibratedFusion> Load(const std::string& path,
                                               const std::string& sha256);

  // Whether it fuses a request's `views`: two or more, all of them its own
  // (a view it has no weight for, such as the LLM's, falls back to rank
  // fusion).
  bool Covers(const std::vector<ViewKind>& views) const;

  // Sets each detail's fused score to the calibrated probability; a view of
  // the model's that the request did not run contributes nothing. Each
  // view is normalised over the units every view judged (ViewScore::judged);
  // a unit a view left unread gets that view's lowest normalised score.
  // With `overrides` (a request's own weights for some views), the fused
  // score is the logistic of the plain combination: ordered, in (0, 1), but
  // not calibrated (no calibration was fitted for those weights).
  void Fuse(std::vector<ScoreDetail>* details,
            Units units = Units::kDocumentPassages,
            const FusionWeights& overrides = {}) const;

  const std::string& sha256() const { return sha256_; }
  const std::vector<ViewKind>& views() const { return views_; }
  // "convex z-score lexical 0.2 + dense 0.8", for descriptions.
  std::string Describe() const;

 private:
  std::vector<ViewKind> views_;
  std::vector<double> weights_;
  bool z_score_ = true;  // Else min-max.
  struct Platt {
    double slope = 1, intercept = 0;
  };
  Platt passages_;   // Retrieve, every passage judged by every view.
  Platt budgeted_;   // Retrieve, a budget left some passages unjudged.
  Platt candidate_;  // Score and /v1/rerank.
  std::string sha256_;
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_CALIBRATED_FUSION_H_

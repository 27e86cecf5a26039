#ifndef ATTNR_MODEL_VIEWS_DENSE_VIEW_H_
#define ATTNR_MODEL_VIEWS_DENSE_VIEW_H_

#include <memory>
#include <string>
#include <vector>

#include "model/bert/bert_encoder.h"
#include "model/document_cache.h"
#include "model/views/model_gate.h"
#include "model/views/scoring_view.h"

namespace attnr::views {

// A unit's embedding: one row per piece (a unit longer than the encoder's
// window is embedded in consecutive pieces), [pieces x dim], L2-normalised.
struct UnitEmbedding {
  std::vector<float> rows;
  size_t bytes() const { return sizeof(*this) + rows.capacity() * 4; }
};

struct DenseViewParams {
  // Units embedded per batch (padded to the batch's longest): large enough
  // for the GEMMs to run near peak, small enough to stop soon when asked.
  size_t batch_units = 4;
  // Text put before the query (some encoders are trained with one, e.g.
  // "Represent this sentence for searching relevant passages: ").
  std::string query_prefix;
  // The encoder's LibTorch device ("cpu", "cuda[:N]"); the retriever loads
  // the encoder there.
  std::string device = "cpu";
  // A unit of more of the encoder's windows than this is not embedded (its
  // cost would be unbounded: a caller's passage of pure punctuation is a
  // token per character); it is counted in ViewUsage::oversized_units. A
  // document's passages stay far below it (text::MaxPassageChars).
  size_t max_unit_pieces = 16;
};

// The dense view: a pretrained sentence encoder (bert::BertEncoder) embeds
// the query and each unit's text; the score is (1 + cosine) / 2, in (0, 1]
// for a unit judged (0 for one left unjudged by the budget). A unit longer
// than the encoder's window is embedded in pieces and scores its best piece
// (never truncated). Unit embeddings are cached by model digest, sequence
// digest and byte range, so a warmed document (Prepare without a budget)
// costs each later query only its own embedding.
// The budget counts the encoder's tokens (with [CLS] and [SEP]) of units
// not yet cached, spent in the request's priority order; a unit that would
// take the spend past it is skipped (a budget below one window still
// judges a first unit of one window).
class DenseView : public ScoringView {
 public:
  DenseView(std::unique_ptr<bert::BertEncoder> encoder, DenseViewParams params,
            size_t cache_bytes, ModelGate* gate);

  ViewKind kind() const override { return ViewKind::kDense; }
  bool neural() const override { return true; }
  std::string model_name() const override { return encoder_->name(); }
  std::string model_sha256() const override { return encoder_->sha256(); }
  size_t QueryModelTokens(absl::string_view query) const override;

  absl::StatusOr<std::unique_ptr<const Derived>> Derive(
      const ViewRequest& request, uint64_t budget_tokens,
      ViewUsage* usage) const override;
  absl::StatusOr<ViewScores> Score(const ViewRequest& request,
                                   const Derived* derived,
                                   ViewUsage* usage) const override;

  const bert::BertEncoder& encoder() const { return *encoder_; }
  const DocumentCache<UnitEmbedding>& cache() const { return cache_; }
  size_t cache_bytes() const override { return cache_.bytes(); }

 private:
  // One call's side of RunBudgetedBatches (budgeted_batches.h).
  class Work;

  // The encoder's token ids of `text`, cut into pieces of at most
  // max_tokens() (at least one piece, possibly empty).
  std::vector<std::vector<int32_t>> Pieces(absl::string_view text) const;

  std::unique_ptr<bert::BertEncoder> encoder_;
  DenseViewParams params_;
  mutable DocumentCache<UnitEmbedding> cache_;
  ModelGate* gate_;
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_DENSE_VIEW_H_

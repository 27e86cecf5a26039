#ifndef ATTNR_MODEL_RETRIEVER_H_
#define ATTNR_MODEL_RETRIEVER_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/document_analyzer.h"
#include "model/retrieval_types.h"
#include "model/text/tokenizer.h"
#include "model/views/dense_view.h"
#include "model/views/entity_view.h"
#include "model/views/fusion.h"
#include "model/views/llm/llm_attention_view.h"
#include "model/views/scoring_view.h"
#include "model/views/view_runner.h"

namespace attnr {

struct RetrieverConfig {
  // What GetModelInfo reports (the server's config).
  std::string model_name = "attnr";
  std::string model_version;
  TextLimits limits;
  // Passage size used to split a Score request's context document into the
  // collection that supplies term statistics.
  uint32_t context_passage_tokens = 128;
  // A Hugging Face-format sentence-encoder folder for the dense view, and
  // the SHA-256 its model.safetensors must have (empty: not checked).
  // Empty path: no dense view.
  std::string dense_model_path;
  std::string dense_model_sha256;
  views::DenseViewParams dense_view;
  // The LLM attention view's GGUF decoder (file or folder) and trained
  // read-out, with their pinned digests (empty: not checked). Empty model:
  // no LLM view.
  std::string llm_model_path;
  std::string llm_model_sha256;
  std::string llm_readout_path;
  std::string llm_readout_sha256;
  views::LlmViewParams llm_view;
  // New network tokens one Retrieve or Score may spend per neural view
  // before answering (0: no limit); Prepare has none.
  uint64_t neural_budget_tokens = 0;
  // With a budget, the passages (best first by the views that need no
  // network) a neural view may do new work for; 0: any.
  uint32_t neural_candidates = 0;
  int threads = 2;
  // Budget of the caches: analyzed documents within a quarter of it, the
  // dense view's unit embeddings within an eighth and the LLM view's read
  // passages (keys and values) within a half.
  size_t cache_bytes = 512u << 20;
  // Per-view weights in rank fusion (a view not named weighs 1).
  views::FusionWeights fusion_weights;
  // The calibrated fusion's parameter file and its pinned SHA-256 (empty:
  // rank fusion only; views::CalibratedFusion).
  std::string fusion_model_path;
  std::string fusion_model_sha256;
  // Views used when a request names none; empty means all the service has.
  std::vector<ViewKind> default_views;
  // Load the entity view (entity weighting).
  bool entity_view = false;
  views::EntityViewOptions entity_view_options;
};

// The retrieval pipeline: text -> views -> fusion -> ranked ranges. An
// orchestrator: the text stage is DocumentAnalyzer's, the views and their
// fusion ViewRunner's, the returned ranges model/ranges/'s and the scope
// model/entities/'s.
// Thread-safe: holds only immutable state, so one instance serves all
// requests concurrently.
class Retriever {
 public:
  static absl::StatusOr<std::unique_ptr<Retriever>> Create(
      const RetrieverConfig& config);

  // Ranks passages of `documents` against `query`. Errors carry the input
  // they are about (request_field.h):
  // INVALID_ARGUMENT (bad UTF-8 with its byte offset, unknown view),
  // RESOURCE_EXHAUSTED (token limits), DEADLINE_EXCEEDED.
  absl::StatusOr<RetrieveResult> Retrieve(
      absl::string_view query, const std::vector<DocumentRef>& documents,
      const RetrieveParams& params) const;

  // Scores each input against `query`, in order. `context` is required when
  // any input is a range.
  absl::StatusOr<ScoreResult> Score(absl::string_view query,
                                    const std::vector<ScoreInput>& inputs,
                                    const DocumentRef* context,
                                    const ScoreParams& params) const;

  // Warms `documents` for later queries: analyzes them and runs every
  // neural view of `views` (empty: the default views) over all their
  // passages with no budget, so a later Retrieve with the same passage
  // options judges every passage. Bounded by the limits and `stop` only.
  absl::StatusOr<PrepareResult> Prepare(
      const std::vector<DocumentRef>& documents,
      const RetrieveParams& params) const;

  const ModelDescription& description() const { return description_; }
  // The view of `kind`, or null when the service does not have it.
  const views::ScoringView* view(ViewKind kind) const {
    return runner_->view(kind);
  }

  // Model steps waiting for their turn now (for the metrics).
  size_t model_turns_waiting() const { return runner_->turns_waiting(); }
  // Bytes each cache holds now: "documents" (analyses), then each view
  // that keeps one, by its CLI name ("dense", "llm").
  std::vector<std::pair<std::string, size_t>> CacheBytes() const;

 private:
  Retriever(const RetrieverConfig& config,
            std::unique_ptr<views::ViewRunner> runner);

  // Validates and tokenizes the query, resolves the views to fuse into
  // *views and counts the query's tokens into *usage.
  absl::StatusOr<std::vector<text::Token>> PrepareQuery(
      absl::string_view query, const std::vector<ViewKind>& requested,
      std::vector<ViewKind>* views, RetrievalUsage* usage) const;

  // INVALID_ARGUMENT when `query` runs more than max_query_model_tokens
  // tokens through a neural view of `views` (each counted by its model's
  // own tokenizer).
  absl::Status CheckQueryModelTokens(absl::string_view query,
                                     const std::vector<ViewKind>& views) const;

  // The views to fuse for a request, or INVALID_ARGUMENT at
  // RequestField::kViews.
  absl::StatusOr<std::vector<ViewKind>> ResolveViews(
      const std::vector<ViewKind>& requested) const;

  RetrieverConfig config_;
  std::unique_ptr<views::ViewRunner> runner_;
  ModelDescription description_;
  DocumentAnalyzer analyzer_;
};

}  // namespace attnr

#endif  // ATTNR_MODEL_RETRIEVER_H_

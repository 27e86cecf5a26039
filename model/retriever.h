#ifndef ATTNR_MODEL_RETRIEVER_H_
#define ATTNR_MODEL_RETRIEVER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "model/document_analysis.h"
#include "model/document_cache.h"
#include "model/retrieval_types.h"
#include "model/text/analyzed_document.h"
#include "model/text/passage_builder.h"
#include "model/text/tokenizer.h"
#include "model/views/dense_view.h"
#include "model/views/entity_view.h"
#include "model/views/fusion.h"
#include "model/views/calibrated_fusion.h"
#include "model/views/llm_attention_view.h"
#include "model/views/model_gate.h"
#include "model/views/scoring_view.h"

namespace attnr {

struct RetrieverConfig {
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

// The retrieval pipeline: text -> views -> fusion -> ranked ranges.
// Thread-safe: holds only immutable state, so one instance serves all
// requests concurrently.
class Retriever {
 public:
  static absl::StatusOr<std::unique_ptr<Retriever>> Create(
      const RetrieverConfig& config);

  // Ranks passages of `documents` against `query`. Errors name the field:
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
  const views::ScoringView* view(ViewKind kind) const;

  // Model steps waiting for their turn now (for the metrics).
  size_t model_turns_waiting() const { return gate_->waiting(); }
  // Bytes each cache holds now: "documents" (analyses), then each view
  // that keeps one, by its CLI name ("dense", "llm").
  std::vector<std::pair<std::string, size_t>> CacheBytes() const;

 private:
  Retriever(const RetrieverConfig& config,
            std::vector<std::unique_ptr<views::ScoringView>> views,
            std::unique_ptr<views::ModelGate> gate,
            std::optional<views::CalibratedFusion> fusion);

  // The analysis of `text` (whose digest is given), from the analysis cache
  // or made now and cached. Single-flight: concurrent calls for one text
  // analyze it once. `max_tokens` (0: none) caps this call tighter than
  // options.max_tokens (the request's remaining token budget) without
  // changing the cache key; going over it is the request's limit, not the
  // document's.
  absl::StatusOr<std::shared_ptr<const DocumentAnalysis>> Analyze(
      absl::string_view text, const std::string& digest,
      const text::AnalyzeOptions& options, uint64_t max_tokens,
      const StopSignal& stop) const;

  // Every document through the text pipeline (limits checked as early as
  // possible) and into passages: the request's sequences and units.
  struct AnalyzedRequest {
    std::vector<std::shared_ptr<const DocumentAnalysis>> docs;
    std::vector<std::vector<text::PassageBounds>> passages;
    // Per unit: (document, passage).
    std::vector<std::pair<uint32_t, uint32_t>> origin;
  };
  absl::StatusOr<AnalyzedRequest> AnalyzeDocuments(
      const std::vector<DocumentRef>& documents, const RetrieveParams& params,
      views::ViewRequest* request, RetrievalUsage* usage) const;

  // The retrieval scope: the passages reached from the best matches in
  // `ranked` through bridge entities (model/entities/entity_scope.h), each
  // put right after the match its chain started from, as ENTITY_SCOPE with
  // the linking entities; then cut to `top_k`. `details` are the fused
  // details of every unit (those of units not yet returned are used).
  void AddEntityScope(absl::string_view query,
                      const std::vector<text::Token>& query_tokens,
                      const AnalyzedRequest& analyzed,
                      const std::vector<ScoreDetail>& details, uint32_t top_k,
                      std::vector<RetrievedPassage>* ranked) const;

  // Runs `views` over `request` and fuses them: views that need no network
  // first, their fused order then sets the neural views' priority; neural
  // views spend at most `budget_tokens` each (0: no limit). With
  // request.explain_sentences, `sentence_attention` gets an attention
  // view's per-sequence, per-sentence attention (empty without one).
  absl::StatusOr<std::vector<ScoreDetail>> ScoreUnits(
      views::ViewRequest& request, const std::vector<ViewKind>& views,
      const views::FusionWeights& view_weights, uint64_t budget_tokens,
      RetrievalUsage* usage,
      std::vector<std::vector<double>>* sentence_attention = nullptr,
      views::CalibratedFusion::Units units =
          views::CalibratedFusion::Units::kDocumentPassages) const;
  // RetrieveResult::explanations from the request's sentences.
  static std::vector<DocumentExplanation> ExplainSentences(
      const views::ViewRequest& request,
      std::vector<std::vector<double>> sentence_attention, bool llm_used);

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

  // The neural budget of a call with `stop`'s deadline: the configured
  // budget, shrunk to the new encoder tokens the recent encode rate fits
  // into half the time left (the rest answers), at least 1 token. Calls
  // without a deadline get the configured budget.
  uint64_t BudgetWithin(const StopSignal& stop) const;
  // Folds a call's new encoder work into the recent encode rate.
  void RecordEncodeRate(const RetrievalUsage& usage) const;

  // The views to fuse for a request, or INVALID_ARGUMENT naming `field`.
  absl::StatusOr<std::vector<ViewKind>> ResolveViews(
      const std::vector<ViewKind>& requested, absl::string_view field) const;

  // The fused scores of `details` for `kinds`: the calibrated fusion when
  // it covers them, else rank fusion; `view_weights` (a request's own)
  // replace the weights of the views they name.
  void FuseAll(const std::vector<ViewKind>& kinds,
               const views::FusionWeights& view_weights,
               std::vector<ScoreDetail>* details,
               views::CalibratedFusion::Units units) const;
  // The request's view_weights, or INVALID_ARGUMENT when one names a view
  // the request does not fuse or every fused view would weigh 0.
  absl::StatusOr<views::FusionWeights> ResolveViewWeights(
      const std::vector<std::pair<ViewKind, double>>& requested,
      const std::vector<ViewKind>& kinds) const;

  RetrieverConfig config_;
  ModelDescription description_;
  std::optional<views::CalibratedFusion> calibrated_fusion_;
  // The one gate every neural view's model work passes (see ModelGate).
  std::unique_ptr<views::ModelGate> gate_;
  // Lexical first; then the neural views the configuration loads.
  std::vector<std::unique_ptr<views::ScoringView>> views_;
  // Analyzed documents (tokens, sentences, offsets, terms: ~100 bytes per
  // token), so a repeated document skips the text pipeline.
  mutable DocumentCache<DocumentAnalysis> analyses_;
  // New encoder tokens per millisecond of neural work, recent calls
  // weighted most (0 until a call has encoded).
  mutable std::atomic<double> encode_rate_{0};
};

}  // namespace attnr

#endif  // ATTNR_MODEL_RETRIEVER_H_

#ifndef ATTNR_MODEL_RETRIEVER_H_
#define ATTNR_MODEL_RETRIEVER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "model/document_cache.h"
#include "model/network/attention_model.h"
#include "model/retrieval_types.h"
#include "model/scoring/attention_view.h"
#include "model/scoring/lexical_view.h"
#include "model/text/analyzed_document.h"
#include "model/text/tokenizer.h"

namespace attnr {

struct RetrieverConfig {
  TextLimits limits;
  // Passage size used to split a Score request's context document into the
  // collection that supplies term statistics.
  uint32_t context_passage_tokens = 128;
  // Trained weights. Empty: serve the views that need no weights (never an
  // untrained network).
  std::string weights_path;
  int threads = 2;
  // Budget of the encoded-document cache.
  size_t cache_bytes = 512u << 20;
  // Weight of the attention view in rank fusion (lexical weighs 1).
  double attention_fusion_weight = 1.0;
  // How the attention view turns token masses into unit scores.
  scoring::AttentionViewParams attention_view;
  // Views used when a request names none; empty means all the model has.
  std::vector<ScoringView> default_views;
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

  const ModelDescription& description() const { return description_; }
  // The encoded-document cache (null without a model); for tests and stats.
  const DocumentCache<network::EncodedDocument>* cache() const {
    return cache_.get();
  }

 private:
  explicit Retriever(const RetrieverConfig& config,
                     std::unique_ptr<network::AttentionModel> model);

  // A token sequence the attention view reads: a document (cached by its
  // text) or a caller's passage.
  struct Sequence {
    std::string digest;  // Of the text (network::Sha256Hex).
    const std::vector<text::Token>* tokens;
  };

  // The text pipeline's result for `text` (whose digest is given), from the
  // analysis cache or analyzed now and cached.
  // Single-flight: concurrent calls for one text analyze it once.
  // `max_tokens` (0: none) caps this call tighter than options.max_tokens
  // (the request's remaining token budget) without changing the cache key;
  // going over it is the request's limit, not the document's.
  absl::StatusOr<std::shared_ptr<const text::AnalyzedDocument>> Analyze(
      absl::string_view text, const std::string& digest,
      const text::AnalyzeOptions& options, uint64_t max_tokens,
      const StopSignal& stop) const;

  // The model's turn: LibTorch runs one call at a time. Waits until the
  // model is free or `stop` fires; the turn ends when the result is
  // destroyed.
  class ModelTurn {
   public:
    explicit ModelTurn(const Retriever* owner) : owner_(owner) {}
    ModelTurn(ModelTurn&& other)
        : owner_(std::exchange(other.owner_, nullptr)) {}
    ModelTurn& operator=(ModelTurn&&) = delete;
    ~ModelTurn();

   private:
    const Retriever* owner_;
  };
  absl::StatusOr<ModelTurn> TakeModel(const StopSignal& stop,
                                      absl::string_view stage) const;

  // Scores units[0, scored) with every view and fuses them. Units past
  // `scored` only lend term statistics to the lexical view. Attention runs
  // over `sequences`, which must hold every token vector the units slice.
  absl::StatusOr<std::vector<ScoreDetail>> ScoreUnits(
      const std::vector<text::Token>& query,
      const std::vector<scoring::TokenSlice>& units, size_t scored,
      const std::vector<Sequence>& sequences,
      const std::vector<ScoringView>& views, bool explain,
      const StopSignal& stop, RetrievalUsage* usage) const;

  // Validates and tokenizes the query, resolves the views to fuse into
  // *views and counts the query's tokens into *usage.
  absl::StatusOr<std::vector<text::Token>> PrepareQuery(
      absl::string_view query, const std::vector<ScoringView>& requested,
      std::vector<ScoringView>* views, RetrievalUsage* usage) const;

  // The views to fuse for a request, or INVALID_ARGUMENT naming `field`.
  absl::StatusOr<std::vector<ScoringView>> ResolveViews(
      const std::vector<ScoringView>& requested, absl::string_view field) const;

  RetrieverConfig config_;
  ModelDescription description_;
  std::unique_ptr<network::AttentionModel> model_;  // Null: lexical only.
  // One LibTorch call at a time: each already uses every core through its
  // intra-op threads, and concurrent calls oversubscribe the cores (OpenMP
  // teams spin against each other and throughput collapses). The lexical
  // path stays concurrent.
  mutable absl::Mutex model_mu_;
  mutable bool model_busy_ ABSL_GUARDED_BY(model_mu_) = false;
  std::unique_ptr<DocumentCache<network::EncodedDocument>> cache_;
  // Analyzed documents (tokens, sentences, offsets: ~100 bytes per token),
  // so a repeated document skips the text pipeline; a quarter of
  // cache_bytes.
  mutable DocumentCache<text::AnalyzedDocument> analyses_;
};

}  // namespace attnr

#endif  // ATTNR_MODEL_RETRIEVER_H_

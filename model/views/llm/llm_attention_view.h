#ifndef ATTNR_MODEL_VIEWS_LLM_LLM_ATTENTION_VIEW_H_
#define ATTNR_MODEL_VIEWS_LLM_LLM_ATTENTION_VIEW_H_

#include <memory>
#include <string>
#include <vector>

#include "model/document_cache.h"
#include "model/llama/llama_decoder.h"
#include "model/views/llm/attention_reader.h"
#include "model/views/llm/attention_readout_file.h"
#include "model/views/model_gate.h"
#include "model/views/scoring_view.h"

namespace attnr::views {

struct LlmViewParams {
  // Passages (best first by the views run before it) the LLM reads and
  // reranks per question.
  size_t candidates = 16;
  // New passage tokens one Retrieve may read before answering (0: no
  // limit); a warm-up (Prepare) reads every passage whatever this says.
  uint64_t budget_tokens = 1024;
  // Passages read per batched pass (one turn of the model gate)...
  size_t batch_passages = 8;
  // ...and at most this many passage tokens per pass (a passage longer than
  // that is read alone), which bounds a pass's attention memory.
  size_t batch_tokens = 2048;
  // A passage of more of the decoder's tokens than this is never read (its
  // attention memory grows with the square of its length); it is counted in
  // ViewUsage::oversized_units. A document's passages of up to
  // max_passage_tokens words stay below it; a caller's passage of symbols
  // may not.
  size_t window_tokens = 1024;
  std::string device = "cpu";
};

// The paper's view (AttentionRetriever): a pretrained decoder LLM
// (llama::LlamaDecoder, from GGUF) reads the question's candidate passages
// after a shared instruction, then the question; the attention its tokens
// pay to each passage at the read-out's layers and heads, combined by the
// trained read-out (views::AttentionReadout), is the passage's score
// (a logistic of the read-out's value, in (0, 1); 0 for a passage not
// read). Passages are read one by one and their keys and values cached by
// model digest, document digest and byte range, so a repeated question
// costs only its own tokens and a warmed document any question's.
class LlmAttentionView : public ScoringView {
 public:
  // Loads the decoder up to the read-out's deepest layer. Errors: those of
  // LlamaDecoder::Load and ReadAttentionReadout; FAILED_PRECONDITION when
  // the read-out was trained on another model or a pinned digest differs.
  static absl::StatusOr<std::unique_ptr<LlmAttentionView>> Load(
      const std::string& gguf_path, const std::string& gguf_sha256,
      const std::string& readout_path, const std::string& readout_sha256,
      LlmViewParams params, int threads, size_t cache_bytes, ModelGate* gate);

  ViewKind kind() const override { return ViewKind::kLlm; }
  bool neural() const override { return true; }
  std::string model_name() const override { return decoder_->name(); }
  std::string model_sha256() const override { return decoder_->sha256(); }
  size_t cache_bytes() const override { return cache_->bytes(); }
  size_t QueryModelTokens(absl::string_view query) const override;

  absl::StatusOr<std::unique_ptr<const Derived>> Derive(
      const ViewRequest& request, uint64_t budget_tokens,
      ViewUsage* usage) const override;
  absl::StatusOr<ViewScores> Score(const ViewRequest& request,
                                   const Derived* derived,
                                   ViewUsage* usage) const override;

  const views::AttentionReadout& readout() const { return readout_; }

 private:
  // One call's side of RunBudgetedBatches (budgeted_batches.h).
  class Work;

  LlmAttentionView() = default;
  // Per sequence and sentence, the attention the question paid the
  // sentence's tokens in the passages Derive read (NaN: not read).
  std::vector<std::vector<double>> SentenceAttention(
      const ViewRequest& request, const Derived& derived) const;

  // A read passage's keys and values, as the cache holds them.
  struct ReadPassage {
    std::shared_ptr<const llama::KvCache> kv;
    size_t bytes() const { return sizeof(*this) + (kv ? kv->bytes() : 0); }
  };

  std::unique_ptr<llama::LlamaDecoder> decoder_;
  std::unique_ptr<views::AttentionReader> reader_;
  views::AttentionReadout readout_;
  LlmViewParams params_;
  mutable std::unique_ptr<DocumentCache<ReadPassage>> cache_;
  ModelGate* gate_ = nullptr;
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_LLM_LLM_ATTENTION_VIEW_H_

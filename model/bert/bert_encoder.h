#ifndef ATTNR_MODEL_BERT_BERT_ENCODER_H_
#define ATTNR_MODEL_BERT_BERT_ENCODER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/stop_signal.h"
#include "model/tokenizers/wordpiece_tokenizer.h"

namespace attnr::bert {

// A BERT-family sentence encoder loaded from a Hugging Face-format folder
// (config.json, model.safetensors, tokenizer.json and the
// sentence-transformers files: 1_Pooling/config.json, modules.json): token
// ids -> the model's sentence embedding (mean or CLS pooling as its pooling
// config says, L2-normalised when its modules include Normalize). Verified
// against sentence-transformers on tests/vectors/bert_*.json. Runs on the
// device named at load, as llama::LlamaDecoder does. Inference only; no
// LibTorch type crosses this interface. Not thread-safe for concurrent calls
// (callers serialize LibTorch work).
class BertEncoder {
 public:
  // Errors: NOT_FOUND (a file missing), INVALID_ARGUMENT (an architecture
  // or setting this encoder does not run, named), DATA_LOSS (weights that
  // do not match config.json, naming the tensor).
  // `threads` (> 0) sets LibTorch's intra-op threads; `device` is "cpu"
  // or "cuda[:N]" (runtime::ParseDevice: INVALID_ARGUMENT when there is no
  // such device).
  static absl::StatusOr<std::unique_ptr<BertEncoder>> Load(
      const std::string& folder, int threads = 0,
      const std::string& device = "cpu");
  ~BertEncoder();

  const tokenizers::WordPieceTokenizer& tokenizer() const;
  // Embedding width.
  int64_t dim() const;
  // Most WordPiece tokens one sequence may hold, [CLS] and [SEP] excluded
  // (the position table's size, or the model's max_seq_length, less 2).
  int64_t max_tokens() const;
  // The folder's name, and the SHA-256 of model.safetensors.
  const std::string& name() const;
  const std::string& sha256() const;

  // Embeds each sequence of token ids ([CLS] and [SEP] are added here):
  // [sequences x dim()] floats, row-major. A sequence longer than
  // max_tokens() is INVALID_ARGUMENT naming its index (never truncated).
  // `stop` is checked between layers: a stopped call returns its status
  // (CANCELLED / DEADLINE_EXCEEDED) within one layer's work.
  absl::StatusOr<std::vector<float>> Embed(
      const std::vector<std::vector<int32_t>>& sequences,
      const StopSignal& stop = StopSignal()) const;

 private:
  struct Weights;
  explicit BertEncoder(std::unique_ptr<Weights> weights);
  static absl::StatusOr<std::unique_ptr<BertEncoder>> LoadHere(
      const std::string& folder, const std::string& device);
  absl::StatusOr<std::vector<float>> EmbedHere(
      const std::vector<std::vector<int32_t>>& sequences,
      const StopSignal& stop) const;
  std::unique_ptr<Weights> w_;
};

}  // namespace attnr::bert

#endif  // ATTNR_MODEL_BERT_BERT_ENCODER_H_

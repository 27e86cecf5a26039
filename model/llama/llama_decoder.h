#ifndef ATTNR_MODEL_LLAMA_LLAMA_DECODER_H_
#define ATTNR_MODEL_LLAMA_LLAMA_DECODER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/llama/llama_config.h"
#include "model/tokenizers/bpe_tokenizer.h"

namespace attnr::llama {

// Keys and values of a run of tokens at every loaded layer, for later
// tokens to attend to (a document passage read once, reused by queries).
// Opaque: no LibTorch type crosses this interface.
class KvCache {
 public:
  virtual ~KvCache() = default;
  virtual int64_t tokens() const = 0;
  // Position of the first token (RoPE), and one past the last.
  virtual int64_t begin_position() const = 0;
  int64_t end_position() const { return begin_position() + tokens(); }
  virtual size_t bytes() const = 0;
};

// What a forward pass returns on request, for verification and read-outs.
struct ForwardTrace {
  // Per requested layer (1-based: after that many blocks; the last layer's
  // has the final RMSNorm applied, as transformers returns it):
  // [tokens x dim], row-major.
  std::vector<std::vector<float>> hidden;
  // Per requested layer: the attention probabilities of the pass's tokens
  // over every key they attend to (the caches' tokens first, then the
  // pass's own): [heads x tokens x keys], row-major.
  std::vector<std::vector<float>> attention;
  int64_t keys = 0;
};

// How one Forward pass runs and what it returns.
struct ForwardOptions {
  // Caches the pass attends to, in order (their positions are their own).
  std::vector<const KvCache*> past;
  // Position of the first id; unset: right after the last of `past` (0
  // without any). Passages read separately and attended to together give
  // the position past the longest of them.
  std::optional<int64_t> position;
  // Return the pass's own cache.
  bool keep = false;
  // With `trace`: the hidden states after these layers and the attention
  // probabilities at these (1-based).
  std::vector<int> hidden_layers;
  std::vector<int> attention_layers;
  ForwardTrace* trace = nullptr;
  // Long inputs run in chunks of this many tokens, the cache carried.
  int64_t chunk = 512;
};

// A Llama-architecture decoder (RMSNorm, RoPE, grouped-query attention,
// SwiGLU; Qwen 2's QKV bias) read from a GGUF file, weights dequantised to
// float at load; with the file's byte-level BPE tokenizer. Runs on the
// device named at load ("cpu" or "cuda[:n]" with a CUDA LibTorch). Verified
// against transformers on tests/vectors/llama_*.json. Not thread-safe for
// concurrent calls (callers serialize LibTorch work); all LibTorch work
// runs on runtime::TorchThread.
class LlamaDecoder {
 public:
  // Loads blocks 1..max_layers (0: all). Errors: NOT_FOUND; INVALID_ARGUMENT
  // naming an unsupported architecture, tensor type or tokenizer;
  // DATA_LOSS naming a tensor whose shape does not match the metadata.
  static absl::StatusOr<std::unique_ptr<LlamaDecoder>> Load(
      const std::string& gguf_path, int threads = 0, int64_t max_layers = 0,
      const std::string& device = "cpu");
  ~LlamaDecoder();

  const LlamaConfig& config() const;
  int64_t loaded_layers() const;
  const tokenizers::BpeTokenizer& tokenizer() const;
  // The file's name without ".gguf", and the SHA-256 of the file.
  const std::string& name() const;
  const std::string& sha256() const;

  // Runs `ids` through the loaded layers after `options.past`. Returns the
  // new tokens' cache when options.keep, and fills options.trace. Errors:
  // INVALID_ARGUMENT (an id outside the vocabulary, a layer not loaded, no
  // ids).
  absl::StatusOr<std::shared_ptr<const KvCache>> Forward(
      const std::vector<int32_t>& ids, const ForwardOptions& options) const;

  // Several sequences side by side, each after the same `past` from
  // `position` (as Forward with keep each): one
  // cache per sequence, in one batched pass (padded to the longest), so
  // short passages make GEMMs large enough to run near peak.
  absl::StatusOr<std::vector<std::shared_ptr<const KvCache>>> ForwardBatch(
      const std::vector<std::vector<int32_t>>& sequences, int64_t position,
      const std::vector<const KvCache*>& past) const;

  // The most likely next token after every position (greedy, the tied or
  // separate output head). For verification; needs every layer loaded.
  absl::StatusOr<std::vector<int32_t>> NextTokens(
      const std::vector<int32_t>& ids) const;

 private:
  struct Weights;
  // INVALID_ARGUMENT naming an id outside the vocabulary (`where` follows
  // its index in the message).
  absl::Status CheckIds(const std::vector<int32_t>& ids,
                        absl::string_view where) const;
  explicit LlamaDecoder(std::unique_ptr<Weights> weights);
  std::unique_ptr<Weights> w_;
};

}  // namespace attnr::llama

#endif  // ATTNR_MODEL_LLAMA_LLAMA_DECODER_H_

#ifndef ATTNR_MODEL_LLAMA_LLAMA_CONFIG_H_
#define ATTNR_MODEL_LLAMA_LLAMA_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/formats/gguf_file.h"

namespace attnr::llama {

// Hyper-parameters of a Llama-architecture decoder, from GGUF metadata (as
// llama.cpp's llama_hparams: read and checked apart from the weights).
struct LlamaConfig {
  std::string architecture;  // "llama" or "qwen2".
  int64_t layers = 0;
  int64_t dim = 0;
  int64_t ffn_dim = 0;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;
  int64_t vocab = 0;    // The tokenizer's, set by the caller.
  int64_t context = 0;  // Trained context length.
  double rope_base = 10000.0;
  double rms_eps = 1e-5;
  bool qkv_bias = false;   // Qwen 2.
  bool rope_neox = false;  // Rotate halves (Qwen 2), not adjacent pairs.
};

// The file's architecture ("llama" or "qwen2"), or INVALID_ARGUMENT for
// another one: checked first, before the tokenizer and the sizes.
absl::StatusOr<std::string> SupportedArchitecture(const formats::GgufFile& file,
                                                  absl::string_view path);

// The hyper-parameters of `file` (named `path` in errors): INVALID_ARGUMENT
// for an architecture other than llama or qwen2, a size of 0 or over 2^24,
// heads that do not divide the width, partial RoPE or RoPE scaling.
absl::StatusOr<LlamaConfig> ReadLlamaConfig(const formats::GgufFile& file,
                                            absl::string_view path);

}  // namespace attnr::llama

#endif  // ATTNR_MODEL_LLAMA_LLAMA_CONFIG_H_

#include "model/llama/llama_config.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "model/runtime/status_macros.h"

namespace attnr::llama {

absl::StatusOr<std::string> SupportedArchitecture(const formats::GgufFile& f,
                                                  absl::string_view path) {
  ASSIGN_OR_RETURN(std::string arch, f.String("general.architecture"));
  if (arch != "llama" && arch != "qwen2") {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": architecture '", arch,
                     "' is not supported (llama and qwen2 are)"));
  }
  return arch;
}

absl::StatusOr<LlamaConfig> ReadLlamaConfig(const formats::GgufFile& f,
                                            absl::string_view path) {
  ASSIGN_OR_RETURN(const std::string arch, SupportedArchitecture(f, path));
  LlamaConfig c;
  c.architecture = arch;
  auto uint_key = [&](const std::string& key, int64_t* out) -> absl::Status {
    ASSIGN_OR_RETURN(const uint64_t v, f.Uint(arch + "." + key));
    if (v == 0 || v > (1u << 24)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", arch, ".", key, " = ", v));
    }
    *out = static_cast<int64_t>(v);
    return absl::OkStatus();
  };
  for (auto [key, out] : std::vector<std::pair<std::string, int64_t*>>{
           {"block_count", &c.layers},
           {"embedding_length", &c.dim},
           {"feed_forward_length", &c.ffn_dim},
           {"attention.head_count", &c.heads},
           {"attention.head_count_kv", &c.kv_heads},
           {"context_length", &c.context}}) {
    RETURN_IF_ERROR(uint_key(key, out));
  }
  if (c.dim % c.heads != 0 || c.heads % c.kv_heads != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", c.heads, " heads and ", c.kv_heads,
                     " key-value heads do not divide width ", c.dim));
  }
  c.head_dim = c.dim / c.heads;
  if (absl::StatusOr<uint64_t> rope = f.Uint(arch + ".rope.dimension_count");
      rope.ok() && static_cast<int64_t>(*rope) != c.head_dim) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": partial RoPE (", *rope, " of ", c.head_dim,
                     " dimensions) is not supported"));
  }
  if (f.Find(arch + ".rope.scaling.type") != nullptr) {
    absl::StatusOr<std::string> scaling = f.String(arch + ".rope.scaling.type");
    if (!scaling.ok() || *scaling != "none") {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": RoPE scaling '", scaling.ok() ? *scaling : "?",
                       "' is not supported"));
    }
  }
  if (absl::StatusOr<double> base = f.Float(arch + ".rope.freq_base");
      base.ok()) {
    c.rope_base = *base;
  }
  if (absl::StatusOr<double> eps =
          f.Float(arch + ".attention.layer_norm_rms_epsilon");
      eps.ok()) {
    c.rms_eps = *eps;
  }
  c.qkv_bias = arch == "qwen2";
  c.rope_neox = arch == "qwen2";
  return c;
}

}  // namespace attnr::llama

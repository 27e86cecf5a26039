#include "model/llama/llama_decoder.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/formats/gguf_file.h"
#include "model/formats/gguf_quants.h"
#include "model/runtime/digest.h"
#include "model/runtime/status_macros.h"
#include "model/runtime/torch_device.h"
#include "model/runtime/torch_thread.h"

namespace attnr::llama {
namespace {

struct LayerWeights {
  // Query, key and value projections side by side ([dim x dim + 2 kv]),
  // gate and up likewise ([dim x 2 ffn]): one product each instead of three
  // and two.
  torch::Tensor attn_norm, wqkv, wo, bqkv;
  torch::Tensor ffn_norm, gate_up, down;
};

class KvCacheImpl : public KvCache {
 public:
  KvCacheImpl(int64_t begin, int64_t layers)
      : begin_(begin), k(layers), v(layers) {}
  int64_t tokens() const override { return tokens_; }
  int64_t begin_position() const override { return begin_; }
  size_t bytes() const override {
    size_t b = sizeof(*this);
    for (size_t l = 0; l < k.size(); ++l) {
      if (k[l].defined()) b += (k[l].numel() + v[l].numel()) * 4;
    }
    return b;
  }

  int64_t begin_;
  int64_t tokens_ = 0;
  // Per layer: [kv_heads x tokens x head_dim], keys already rotated.
  std::vector<torch::Tensor> k, v;
};

torch::Tensor RmsNorm(const torch::Tensor& x, const torch::Tensor& w,
                      double eps) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * w;
}

}  // namespace

struct LlamaDecoder::Weights {
  LlamaConfig cfg;
  int64_t loaded = 0;
  std::unique_ptr<formats::GgufFile> file;
  tokenizers::BpeTokenizer tokenizer;
  const formats::GgufTensor* embed = nullptr;
  const formats::GgufTensor* output = nullptr;  // The embedding if tied.
  torch::Tensor output_norm;
  std::vector<LayerWeights> layers;
  torch::Tensor inv_freq;
  torch::Device device = torch::kCPU;
  std::string name, sha256;

  Weights(tokenizers::BpeTokenizer t) : tokenizer(std::move(t)) {}

  // Rows `ids` of a [rows x dim] GGUF matrix, decoded: [ids x dim].
  torch::Tensor Rows(const formats::GgufTensor& t,
                     const std::vector<int32_t>& ids) const {
    const int64_t width = static_cast<int64_t>(t.dims[0]);
    const size_t row_bytes = *formats::RowBytes(t.type, width);
    torch::Tensor out = torch::empty({static_cast<int64_t>(ids.size()), width});
    float* dst = out.data_ptr<float>();
    const uint8_t* base = file->Data(t).data();
    for (size_t i = 0; i < ids.size(); ++i) {
      (void)formats::DequantizeRow(t.type, base + ids[i] * row_bytes, width,
                                   dst + i * width);
    }
    return out.to(device);
  }

  // cos and sin of every rotation angle at `positions`: [tokens x dim/2].
  std::pair<torch::Tensor, torch::Tensor> Rope(int64_t first,
                                               int64_t count) const {
    torch::Tensor pos =
        torch::arange(first, first + count, torch::dtype(torch::kFloat64))
            .to(device);
    torch::Tensor angles = pos.unsqueeze(1) * inv_freq.unsqueeze(0);
    return {angles.cos().to(torch::kFloat32), angles.sin().to(torch::kFloat32)};
  }

  // x: [tokens x heads x head_dim].
  torch::Tensor Rotate(const torch::Tensor& x, const torch::Tensor& cos,
                       const torch::Tensor& sin) const {
    const int64_t half = cfg.head_dim / 2;
    torch::Tensor c = cos.unsqueeze(1), s = sin.unsqueeze(1);
    if (cfg.rope_neox) {
      torch::Tensor x0 = x.narrow(-1, 0, half), x1 = x.narrow(-1, half, half);
      return torch::cat({x0 * c - x1 * s, x0 * s + x1 * c}, -1);
    }
    torch::Tensor pairs = x.reshape({x.size(0), x.size(1), half, 2});
    torch::Tensor x0 = pairs.select(-1, 0), x1 = pairs.select(-1, 1);
    return torch::stack({x0 * c - x1 * s, x0 * s + x1 * c}, -1)
        .reshape(x.sizes());
  }

  // The one transformer block (llama.cpp's build_llama layer): `b`
  // sequences of `t` tokens, x [b*t x dim], at the positions of cos/sin;
  // each attends to the keys and values of `prefix_k`/`prefix_v`
  // ([kv_heads x p x head_dim], shared by every sequence; undefined: none)
  // and to its own, with the additive `bias` [t x p+t] (the causal mask).
  // Returns the block's output and in *k, *v the pass's own keys (rotated)
  // and values [b x kv_heads x t x head_dim]; in *probs (when given) the
  // attention probabilities [b x heads x t x p+t]. With `keys_only`, only
  // *k and *v are computed and the output is undefined.
  torch::Tensor Block(int64_t layer, const torch::Tensor& x, int64_t b,
                      int64_t t, const torch::Tensor& cos,
                      const torch::Tensor& sin, const torch::Tensor& prefix_k,
                      const torch::Tensor& prefix_v, const torch::Tensor& bias,
                      torch::Tensor* k, torch::Tensor* v, torch::Tensor* probs,
                      bool keys_only = false) const {
    const LlamaConfig& c = cfg;
    const LayerWeights& L = layers[layer];
    const int64_t group = c.heads / c.kv_heads;
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
    torch::Tensor h = RmsNorm(x, L.attn_norm, c.rms_eps);
    const int64_t kv = c.kv_heads * c.head_dim;
    torch::Tensor qkv = h.matmul(L.wqkv);
    if (c.qkv_bias) qkv = qkv + L.bqkv;
    torch::Tensor q = qkv.narrow(1, 0, c.dim), kk = qkv.narrow(1, c.dim, kv),
                  vv = qkv.narrow(1, c.dim + kv, kv);
    // Rotate works on [tokens x heads x head_dim]: sequences stacked along
    // heads share the position table.
    auto rotate = [&](const torch::Tensor& m, int64_t heads) {
      return Rotate(m.view({b, t, heads, c.head_dim})
                        .transpose(0, 1)
                        .reshape({t, b * heads, c.head_dim}),
                    cos, sin)
          .view({t, b, heads, c.head_dim})
          .permute({1, 2, 0, 3});  // [b x heads x t x d]
    };
    *k = rotate(kk, c.kv_heads).contiguous();
    *v = vv.view({b, t, c.kv_heads, c.head_dim})
             .permute({0, 2, 1, 3})
             .contiguous();
    // The pass's keys and values are all a caller of the last layer it
    // reads needs (reading passages): no attention, no MLP.
    if (keys_only) return torch::Tensor();
    q = rotate(q, c.heads);
    torch::Tensor K = *k, V = *v;
    if (prefix_k.defined()) {
      K = torch::cat({prefix_k.unsqueeze(0).expand({b, -1, -1, -1}), K}, 2);
      V = torch::cat({prefix_v.unsqueeze(0).expand({b, -1, -1, -1}), V}, 2);
    }
    if (group > 1) {
      K = K.repeat_interleave(group, 1);
      V = V.repeat_interleave(group, 1);
    }
    torch::Tensor o;
#if TORCH_VERSION_MAJOR >= 2
    // LibTorch 2.x: the fused kernel where nobody reads the probabilities
    // (reading passages, the layers past the read-out's).
    if (probs == nullptr) {
      o = at::scaled_dot_product_attention(q, K, V, bias, 0.0, false, scale);
    } else  // NOLINT(readability/braces): the #if's other half.
#endif
    {
      const torch::Tensor p = torch::softmax(
          torch::matmul(q, K.transpose(2, 3)) * scale + bias, -1);
      if (probs != nullptr) *probs = p;
      o = torch::matmul(p, V);
    }
    o = o.permute({0, 2, 1, 3}).reshape({b * t, c.dim});
    torch::Tensor y = x + o.matmul(L.wo);
    torch::Tensor h2 = RmsNorm(y, L.ffn_norm, c.rms_eps);
    const torch::Tensor gate_up = h2.matmul(L.gate_up);
    return y + (torch::silu(gate_up.narrow(1, 0, c.ffn_dim)) *
                gate_up.narrow(1, c.ffn_dim, c.ffn_dim))
                   .matmul(L.down);
  }

  // The keys (or values) of layer `layer` of `caches`, in order, then
  // `own` (undefined: none): [kv_heads x tokens x head_dim], or undefined
  // when there are none.
  static torch::Tensor Concat(const std::vector<const KvCache*>& caches,
                              int64_t layer, bool keys,
                              const torch::Tensor& own);
};

namespace {

absl::StatusOr<torch::Tensor> LoadTensor(const formats::GgufFile& file,
                                         const std::string& name,
                                         std::vector<int64_t> shape,
                                         torch::Device device,
                                         bool optional = false) {
  const formats::GgufTensor* t = file.FindTensor(name);
  if (t == nullptr) {
    if (optional) return torch::Tensor();
    return absl::DataLossError(absl::StrCat("GGUF tensor ", name, " missing"));
  }
  std::vector<uint64_t> want(shape.rbegin(), shape.rend());
  if (t->dims != want) {
    std::string got, expected;
    for (uint64_t d : t->dims) absl::StrAppend(&got, got.empty() ? "" : "x", d);
    for (uint64_t d : want)
      absl::StrAppend(&expected, expected.empty() ? "" : "x", d);
    return absl::DataLossError(absl::StrCat("GGUF tensor ", name, " is ", got,
                                            ", the metadata says ", expected));
  }
  absl::StatusOr<std::vector<float>> values = file.Dequantize(*t);
  if (!values.ok()) return values.status();
  torch::Tensor out = torch::from_blob(values->data(), shape).clone();
  return out.to(device);
}

}  // namespace

LlamaDecoder::LlamaDecoder(std::unique_ptr<Weights> weights)
    : w_(std::move(weights)) {}
LlamaDecoder::~LlamaDecoder() {
  runtime::TorchThread::Get().Run([&] { w_.reset(); });
}

const LlamaConfig& LlamaDecoder::config() const { return w_->cfg; }
int64_t LlamaDecoder::loaded_layers() const { return w_->loaded; }
const tokenizers::BpeTokenizer& LlamaDecoder::tokenizer() const {
  return w_->tokenizer;
}
const std::string& LlamaDecoder::name() const { return w_->name; }
const std::string& LlamaDecoder::sha256() const { return w_->sha256; }

absl::StatusOr<std::unique_ptr<LlamaDecoder>> LlamaDecoder::Load(
    const std::string& gguf_path, int threads, int64_t max_layers,
    const std::string& device_name) {
  absl::StatusOr<std::unique_ptr<formats::GgufFile>> file =
      formats::GgufFile::Open(gguf_path);
  if (!file.ok()) return file.status();
  const formats::GgufFile& f = **file;
  // Architecture first, then the tokenizer, then the sizes: an error names
  // the first problem of a file.
  RETURN_IF_ERROR(SupportedArchitecture(f, gguf_path).status());
  absl::StatusOr<tokenizers::BpeTokenizer> tokenizer =
      tokenizers::BpeTokenizer::FromGguf(f);
  if (!tokenizer.ok()) {
    return absl::Status(
        tokenizer.status().code(),
        absl::StrCat(gguf_path, ": ", tokenizer.status().message()));
  }
  ASSIGN_OR_RETURN(LlamaConfig config, ReadLlamaConfig(f, gguf_path));
  auto w = std::make_unique<Weights>(*std::move(tokenizer));
  LlamaConfig& c = w->cfg;
  c = std::move(config);
  c.vocab = static_cast<int64_t>(w->tokenizer.vocab_size());
  w->loaded = max_layers > 0 ? std::min(max_layers, c.layers) : c.layers;
  w->name = gguf_path.substr(gguf_path.find_last_of('/') + 1);
  if (absl::EndsWith(w->name, ".gguf")) w->name.resize(w->name.size() - 5);

  w->embed = f.FindTensor("token_embd.weight");
  if (w->embed == nullptr ||
      w->embed->dims != std::vector<uint64_t>{static_cast<uint64_t>(c.dim),
                                              static_cast<uint64_t>(c.vocab)}) {
    return absl::DataLossError(
        absl::StrCat(gguf_path, ": token_embd.weight is missing or not ", c.dim,
                     "x", c.vocab));
  }
  for (const formats::GgufTensor* t :
       {w->embed, f.FindTensor("output.weight")}) {
    if (t == nullptr) continue;
    absl::StatusOr<formats::GgmlTypeInfo> info = formats::TypeInfo(t->type);
    if (!info.ok() || !info->dequantizable) {
      return absl::InvalidArgumentError(absl::StrCat(
          gguf_path, ": tensor ", t->name, " has type ",
          info.ok() ? info->name : "unknown", ", which is not supported"));
    }
  }
  w->output = f.FindTensor("output.weight");
  if (w->output == nullptr) w->output = w->embed;

  absl::Status status;
  runtime::TorchThread::Get().Run([&] {
    if (threads > 0) torch::set_num_threads(threads);
    absl::StatusOr<torch::Device> device = runtime::ParseDevice(device_name);
    if (!device.ok()) {
      status = device.status();
      return;
    }
    w->device = *device;
    torch::NoGradGuard no_grad;
    auto load = [&](const std::string& name, std::vector<int64_t> shape,
                    torch::Tensor* out, bool optional = false) {
      if (!status.ok()) return;
      absl::StatusOr<torch::Tensor> t =
          LoadTensor(f, name, std::move(shape), w->device, optional);
      if (!t.ok()) {
        status =
            absl::Status(t.status().code(),
                         absl::StrCat(gguf_path, ": ", t.status().message()));
        return;
      }
      *out = *std::move(t);
    };
    const int64_t kv = c.kv_heads * c.head_dim;
    w->layers.resize(w->loaded);
    for (int64_t l = 0; l < w->loaded; ++l) {
      const std::string p = absl::StrCat("blk.", l, ".");
      LayerWeights& L = w->layers[l];
      load(p + "attn_norm.weight", {c.dim}, &L.attn_norm);
      torch::Tensor wq, wk, wv, bq, bk, bv, gate, up;
      load(p + "attn_q.weight", {c.dim, c.dim}, &wq);
      load(p + "attn_k.weight", {kv, c.dim}, &wk);
      load(p + "attn_v.weight", {kv, c.dim}, &wv);
      load(p + "attn_output.weight", {c.dim, c.dim}, &L.wo);
      if (c.qkv_bias) {
        load(p + "attn_q.bias", {c.dim}, &bq);
        load(p + "attn_k.bias", {kv}, &bk);
        load(p + "attn_v.bias", {kv}, &bv);
      }
      load(p + "ffn_norm.weight", {c.dim}, &L.ffn_norm);
      load(p + "ffn_gate.weight", {c.ffn_dim, c.dim}, &gate);
      load(p + "ffn_up.weight", {c.ffn_dim, c.dim}, &up);
      load(p + "ffn_down.weight", {c.dim, c.ffn_dim}, &L.down);
      if (!status.ok()) return;
      // Transposed once so every product is x @ W.
      L.wqkv = torch::cat({wq, wk, wv}).t().contiguous();
      if (c.qkv_bias) L.bqkv = torch::cat({bq, bk, bv});
      L.gate_up = torch::cat({gate, up}).t().contiguous();
      L.wo = L.wo.t().contiguous();
      L.down = L.down.t().contiguous();
    }
    load("output_norm.weight", {c.dim}, &w->output_norm);
    if (!status.ok()) return;
    w->inv_freq =
        torch::pow(c.rope_base, -torch::arange(0, c.head_dim, 2,
                                               torch::dtype(torch::kFloat64)) /
                                    static_cast<double>(c.head_dim))
            .to(w->device);
  });
  if (!status.ok()) return status;
  w->file = *std::move(file);
  ASSIGN_OR_RETURN(w->sha256, runtime::FileSha256Hex(gguf_path));
  return std::unique_ptr<LlamaDecoder>(new LlamaDecoder(std::move(w)));
}

torch::Tensor LlamaDecoder::Weights::Concat(
    const std::vector<const KvCache*>& caches, int64_t layer, bool keys,
    const torch::Tensor& own) {
  std::vector<torch::Tensor> parts;
  for (const KvCache* p : caches) {
    const auto* impl = static_cast<const KvCacheImpl*>(p);
    parts.push_back(keys ? impl->k[layer] : impl->v[layer]);
  }
  if (own.defined()) parts.push_back(own);
  if (parts.empty()) return torch::Tensor();
  return parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
}

absl::Status LlamaDecoder::CheckIds(const std::vector<int32_t>& ids,
                                    absl::string_view where) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= w_->cfg.vocab) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", ids[i], " at ", i, where, " is outside the vocabulary"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const KvCache>> LlamaDecoder::Forward(
    const std::vector<int32_t>& ids, const ForwardOptions& options) const {
  const LlamaConfig& c = w_->cfg;
  RETURN_IF_ERROR(CheckIds(ids, ""));
  for (const std::vector<int>* layers :
       {&options.hidden_layers, &options.attention_layers}) {
    for (int l : *layers) {
      if (l < 1 || l > w_->loaded) {
        return absl::InvalidArgumentError(absl::StrCat(
            "layer ", l, " is not loaded (1 to ", w_->loaded, ")"));
      }
    }
  }
  if (ids.empty()) {
    return absl::InvalidArgumentError("no tokens to run");
  }
  const std::vector<const KvCache*>& past = options.past;
  const int64_t position =
      options.position.value_or(past.empty() ? 0 : past.back()->end_position());
  const int64_t chunk = std::max<int64_t>(1, options.chunk);
  ForwardTrace* trace = options.trace;
  auto own = std::make_shared<KvCacheImpl>(position, w_->loaded);
  const int64_t n = static_cast<int64_t>(ids.size());
  int64_t past_tokens = 0;
  for (const KvCache* p : past) past_tokens += p->tokens();
  const int64_t keys_total = past_tokens + n;
  if (trace != nullptr) {
    trace->hidden.assign(options.hidden_layers.size(),
                         std::vector<float>(n * c.dim));
    trace->attention.assign(options.attention_layers.size(),
                            std::vector<float>(c.heads * n * keys_total, 0.0f));
    trace->keys = keys_total;
  }

  runtime::TorchThread::Get().Run([&] {
    torch::NoGradGuard no_grad;
    for (int64_t start = 0; start < n; start += chunk) {
      const int64_t t = std::min(chunk, n - start);
      std::vector<int32_t> part(ids.begin() + start, ids.begin() + start + t);
      torch::Tensor x = w_->Rows(*w_->embed, part);
      auto [cos, sin] = w_->Rope(position + start, t);
      // Own earlier keys plus these, causal: key j of this pass is visible
      // to query i when j <= start + i; every past key is visible.
      const int64_t seen = start + t;
      torch::Tensor mask =
          torch::arange(seen, torch::dtype(torch::kInt64).device(w_->device))
              .unsqueeze(0) >
          torch::arange(start, start + t,
                        torch::dtype(torch::kInt64).device(w_->device))
              .unsqueeze(1);
      torch::Tensor bias =
          torch::zeros({t, seen},
                       torch::dtype(torch::kFloat32).device(w_->device))
              .masked_fill(mask, -INFINITY);
      if (past_tokens > 0) {
        bias = torch::cat(
            {torch::zeros({t, past_tokens}, bias.options()), bias}, 1);
      }
      for (int64_t l = 0; l < w_->loaded; ++l) {
        const bool want_probs =
            trace != nullptr &&
            std::find(options.attention_layers.begin(),
                      options.attention_layers.end(),
                      l + 1) != options.attention_layers.end();
        torch::Tensor k, v, probs;
        x = w_->Block(l, x, 1, t, cos, sin,
                      Weights::Concat(past, l, true, own->k[l]),
                      Weights::Concat(past, l, false, own->v[l]), bias, &k, &v,
                      want_probs ? &probs : nullptr);
        own->k[l] =
            own->k[l].defined() ? torch::cat({own->k[l], k[0]}, 1) : k[0];
        own->v[l] =
            own->v[l].defined() ? torch::cat({own->v[l], v[0]}, 1) : v[0];
        for (size_t a = 0; want_probs && a < options.attention_layers.size();
             ++a) {
          if (options.attention_layers[a] != l + 1) continue;
          // [heads x t x keys] of this chunk, into the trace's rows.
          torch::Tensor cpu = probs[0].to(torch::kCPU).contiguous();
          const int64_t keys = cpu.size(2);
          float* dst = trace->attention[a].data();
          const float* src = cpu.data_ptr<float>();
          for (int64_t hd = 0; hd < c.heads; ++hd) {
            for (int64_t i = 0; i < t; ++i) {
              std::copy(src + (hd * t + i) * keys,
                        src + (hd * t + i + 1) * keys,
                        dst + (hd * n + start + i) * keys_total);
            }
          }
        }
        for (size_t a = 0; trace != nullptr && a < options.hidden_layers.size();
             ++a) {
          if (options.hidden_layers[a] != l + 1) continue;
          torch::Tensor out =
              l + 1 == c.layers ? RmsNorm(x, w_->output_norm, c.rms_eps) : x;
          out = out.to(torch::kCPU).contiguous();
          std::copy(out.data_ptr<float>(), out.data_ptr<float>() + t * c.dim,
                    trace->hidden[a].data() + start * c.dim);
        }
      }
    }
  });
  own->tokens_ = n;
  if (!options.keep) return std::shared_ptr<const KvCache>();
  return std::shared_ptr<const KvCache>(std::move(own));
}

absl::StatusOr<std::vector<std::shared_ptr<const KvCache>>>
LlamaDecoder::ForwardBatch(const std::vector<std::vector<int32_t>>& sequences,
                           int64_t position,
                           const std::vector<const KvCache*>& past) const {
  int64_t longest = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    if (sequences[s].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence ", s, " is empty"));
    }
    RETURN_IF_ERROR(CheckIds(sequences[s], absl::StrCat(" in sequence ", s)));
    longest = std::max<int64_t>(longest, sequences[s].size());
  }
  std::vector<std::shared_ptr<const KvCache>> out;
  if (sequences.empty()) return out;
  const int64_t b = static_cast<int64_t>(sequences.size());
  const int64_t t = longest;
  int64_t past_tokens = 0;
  for (const KvCache* p : past) past_tokens += p->tokens();
  std::vector<std::shared_ptr<KvCacheImpl>> caches;
  for (int64_t s = 0; s < b; ++s) {
    caches.push_back(std::make_shared<KvCacheImpl>(position, w_->loaded));
    caches.back()->tokens_ = static_cast<int64_t>(sequences[s].size());
  }
  runtime::TorchThread::Get().Run([&] {
    torch::NoGradGuard no_grad;
    std::vector<int32_t> ids(b * t, 0);  // Padding after each sequence.
    for (int64_t s = 0; s < b; ++s) {
      std::copy(sequences[s].begin(), sequences[s].end(), ids.begin() + s * t);
    }
    torch::Tensor x = w_->Rows(*w_->embed, ids);  // [b*t x dim]
    auto [cos, sin] = w_->Rope(position, t);
    // Causal within each sequence (padding comes after its tokens, so no
    // real token sees it); every past key is visible.
    torch::Tensor mask =
        torch::arange(t, torch::dtype(torch::kInt64).device(w_->device))
            .unsqueeze(0) >
        torch::arange(t, torch::dtype(torch::kInt64).device(w_->device))
            .unsqueeze(1);
    torch::Tensor bias =
        torch::zeros({t, t}, torch::dtype(torch::kFloat32).device(w_->device))
            .masked_fill(mask, -INFINITY);
    if (past_tokens > 0) {
      bias =
          torch::cat({torch::zeros({t, past_tokens}, bias.options()), bias}, 1);
    }
    for (int64_t l = 0; l < w_->loaded; ++l) {
      torch::Tensor k, v;
      x = w_->Block(l, x, b, t, cos, sin,
                    Weights::Concat(past, l, true, torch::Tensor()),
                    Weights::Concat(past, l, false, torch::Tensor()), bias, &k,
                    &v, nullptr, /*keys_only=*/l + 1 == w_->loaded);
      for (int64_t s = 0; s < b; ++s) {
        const int64_t n = caches[s]->tokens_;
        caches[s]->k[l] = k[s].narrow(1, 0, n).contiguous();
        caches[s]->v[l] = v[s].narrow(1, 0, n).contiguous();
      }
    }
  });
  for (auto& cache : caches) out.push_back(std::move(cache));
  return out;
}

absl::StatusOr<std::vector<int32_t>> LlamaDecoder::NextTokens(
    const std::vector<int32_t>& ids) const {
  const LlamaConfig& c = w_->cfg;
  if (w_->loaded != c.layers) {
    return absl::FailedPreconditionError("NextTokens needs every layer loaded");
  }
  ForwardTrace trace;
  ForwardOptions options;
  options.hidden_layers = {static_cast<int>(c.layers)};
  options.trace = &trace;
  RETURN_IF_ERROR(Forward(ids, options).status());
  std::vector<int32_t> out(ids.size());
  runtime::TorchThread::Get().Run([&] {
    torch::NoGradGuard no_grad;
    torch::Tensor h = torch::from_blob(
        trace.hidden[0].data(), {static_cast<int64_t>(ids.size()), c.dim});
    // The output head decoded in slices, so no float copy of the whole
    // matrix lives beside the model.
    torch::Tensor best =
        torch::full({static_cast<int64_t>(ids.size())}, -INFINITY);
    torch::Tensor arg =
        torch::zeros({static_cast<int64_t>(ids.size())}, torch::kInt64);
    const int64_t slice = 4096;
    for (int64_t first = 0; first < c.vocab; first += slice) {
      const int64_t rows = std::min(slice, c.vocab - first);
      std::vector<int32_t> r(rows);
      for (int64_t i = 0; i < rows; ++i) r[i] = static_cast<int32_t>(first + i);
      torch::Tensor logits =
          h.matmul(w_->Rows(*w_->output, r).to(torch::kCPU).t());
      auto [value, index] = logits.max(1);
      torch::Tensor better = value > best;
      best = torch::where(better, value, best);
      arg = torch::where(better, index + first, arg);
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      out[i] = static_cast<int32_t>(arg[i].item<int64_t>());
    }
  });
  return out;
}

}  // namespace attnr::llama

#include "model/llama/llama_decoder.h"

#include <torch/torch.h>

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
#include "model/runtime/torch_thread.h"

namespace attnr::llama {
namespace {

struct LayerWeights {
  torch::Tensor attn_norm, wq, wk, wv, wo, bq, bk, bv;
  torch::Tensor ffn_norm, gate, up, down;
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

std::string FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  return runtime::Sha256Hex(bytes);
}

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
  absl::StatusOr<std::string> arch = f.String("general.architecture");
  if (!arch.ok()) return arch.status();
  if (*arch != "llama" && *arch != "qwen2") {
    return absl::InvalidArgumentError(
        absl::StrCat(gguf_path, ": architecture '", *arch,
                     "' is not supported (llama and qwen2 are)"));
  }
  absl::StatusOr<tokenizers::BpeTokenizer> tokenizer =
      tokenizers::BpeTokenizer::FromGguf(f);
  if (!tokenizer.ok()) {
    return absl::Status(
        tokenizer.status().code(),
        absl::StrCat(gguf_path, ": ", tokenizer.status().message()));
  }
  auto w = std::make_unique<Weights>(*std::move(tokenizer));
  LlamaConfig& c = w->cfg;
  c.architecture = *arch;
  auto uint_key = [&](const std::string& key, int64_t* out) -> absl::Status {
    absl::StatusOr<uint64_t> v = f.Uint(*arch + "." + key);
    if (!v.ok()) return v.status();
    if (*v == 0 || *v > (1u << 24)) {
      return absl::InvalidArgumentError(
          absl::StrCat(gguf_path, ": ", *arch, ".", key, " = ", *v));
    }
    *out = static_cast<int64_t>(*v);
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
        absl::StrCat(gguf_path, ": ", c.heads, " heads and ", c.kv_heads,
                     " key-value heads do not divide width ", c.dim));
  }
  c.head_dim = c.dim / c.heads;
  if (absl::StatusOr<uint64_t> rope = f.Uint(*arch + ".rope.dimension_count");
      rope.ok() && static_cast<int64_t>(*rope) != c.head_dim) {
    return absl::InvalidArgumentError(
        absl::StrCat(gguf_path, ": partial RoPE (", *rope, " of ", c.head_dim,
                     " dimensions) is not supported"));
  }
  if (f.Find(*arch + ".rope.scaling.type") != nullptr) {
    absl::StatusOr<std::string> scaling =
        f.String(*arch + ".rope.scaling.type");
    if (!scaling.ok() || *scaling != "none") {
      return absl::InvalidArgumentError(
          absl::StrCat(gguf_path, ": RoPE scaling '",
                       scaling.ok() ? *scaling : "?", "' is not supported"));
    }
  }
  if (absl::StatusOr<double> base = f.Float(*arch + ".rope.freq_base");
      base.ok()) {
    c.rope_base = *base;
  }
  if (absl::StatusOr<double> eps =
          f.Float(*arch + ".attention.layer_norm_rms_epsilon");
      eps.ok()) {
    c.rms_eps = *eps;
  }
  c.qkv_bias = *arch == "qwen2";
  c.rope_neox = *arch == "qwen2";
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
    try {
      w->device = torch::Device(device_name);
    } catch (const std::exception& e) {
      status = absl::InvalidArgumentError(
          absl::StrCat("device '", device_name, "': ", e.what()));
      return;
    }
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
      load(p + "attn_q.weight", {c.dim, c.dim}, &L.wq);
      load(p + "attn_k.weight", {kv, c.dim}, &L.wk);
      load(p + "attn_v.weight", {kv, c.dim}, &L.wv);
      load(p + "attn_output.weight", {c.dim, c.dim}, &L.wo);
      if (c.qkv_bias) {
        load(p + "attn_q.bias", {c.dim}, &L.bq);
        load(p + "attn_k.bias", {kv}, &L.bk);
        load(p + "attn_v.bias", {kv}, &L.bv);
      }
      load(p + "ffn_norm.weight", {c.dim}, &L.ffn_norm);
      load(p + "ffn_gate.weight", {c.ffn_dim, c.dim}, &L.gate);
      load(p + "ffn_up.weight", {c.ffn_dim, c.dim}, &L.up);
      load(p + "ffn_down.weight", {c.dim, c.ffn_dim}, &L.down);
      // Transposed once so every product is x @ W.
      for (torch::Tensor* m :
           {&L.wq, &L.wk, &L.wv, &L.wo, &L.gate, &L.up, &L.down}) {
        if (m->defined()) *m = m->t().contiguous();
      }
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
  w->sha256 = FileSha256(gguf_path);
  return std::unique_ptr<LlamaDecoder>(new LlamaDecoder(std::move(w)));
}

absl::StatusOr<std::shared_ptr<const KvCache>> LlamaDecoder::Forward(
    const std::vector<int32_t>& ids, const std::vector<const KvCache*>& past,
    bool keep, const std::vector<int>& hidden_layers,
    const std::vector<int>& attention_layers, ForwardTrace* trace,
    int64_t chunk) const {
  const int64_t position = past.empty() ? 0 : past.back()->end_position();
  return ForwardAt(ids, position, past, keep, hidden_layers, attention_layers,
                   trace, chunk);
}

absl::StatusOr<std::shared_ptr<const KvCache>> LlamaDecoder::ForwardAt(
    const std::vector<int32_t>& ids, int64_t position,
    const std::vector<const KvCache*>& past, bool keep,
    const std::vector<int>& hidden_layers,
    const std::vector<int>& attention_layers, ForwardTrace* trace,
    int64_t chunk) const {
  const LlamaConfig& c = w_->cfg;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= c.vocab) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", ids[i], " at ", i, " is outside the vocabulary"));
    }
  }
  for (const std::vector<int>* layers : {&hidden_layers, &attention_layers}) {
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
  chunk = std::max<int64_t>(1, chunk);
  auto own = std::make_shared<KvCacheImpl>(position, w_->loaded);
  const int64_t n = static_cast<int64_t>(ids.size());
  int64_t past_tokens = 0;
  for (const KvCache* p : past) past_tokens += p->tokens();
  const int64_t keys_total = past_tokens + n;
  if (trace != nullptr) {
    trace->hidden.assign(hidden_layers.size(), std::vector<float>(n * c.dim));
    trace->attention.assign(attention_layers.size(),
                            std::vector<float>(c.heads * n * keys_total, 0.0f));
    trace->keys = keys_total;
  }

  runtime::TorchThread::Get().Run([&] {
    torch::NoGradGuard no_grad;
    const int64_t group = c.heads / c.kv_heads;
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
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
        const LayerWeights& L = w_->layers[l];
        torch::Tensor h = RmsNorm(x, L.attn_norm, c.rms_eps);
        torch::Tensor q = h.matmul(L.wq), k = h.matmul(L.wk),
                      v = h.matmul(L.wv);
        if (c.qkv_bias) {
          q = q + L.bq;
          k = k + L.bk;
          v = v + L.bv;
        }
        q = w_->Rotate(q.view({t, c.heads, c.head_dim}), cos, sin);
        k = w_->Rotate(k.view({t, c.kv_heads, c.head_dim}), cos, sin);
        k = k.transpose(0, 1).contiguous();  // [kv_heads x t x head_dim]
        v = v.view({t, c.kv_heads, c.head_dim}).transpose(0, 1).contiguous();
        own->k[l] = own->k[l].defined() ? torch::cat({own->k[l], k}, 1) : k;
        own->v[l] = own->v[l].defined() ? torch::cat({own->v[l], v}, 1) : v;
        std::vector<torch::Tensor> ks, vs;
        for (const KvCache* p : past) {
          const auto* impl = static_cast<const KvCacheImpl*>(p);
          ks.push_back(impl->k[l]);
          vs.push_back(impl->v[l]);
        }
        ks.push_back(own->k[l]);
        vs.push_back(own->v[l]);
        torch::Tensor K = ks.size() == 1 ? ks[0] : torch::cat(ks, 1);
        torch::Tensor V = vs.size() == 1 ? vs[0] : torch::cat(vs, 1);
        if (group > 1) {
          K = K.repeat_interleave(group, 0);
          V = V.repeat_interleave(group, 0);
        }
        torch::Tensor scores =
            torch::matmul(q.transpose(0, 1), K.transpose(1, 2)) * scale + bias;
        torch::Tensor probs = torch::softmax(scores, -1);  // [heads x t x keys]
        for (size_t a = 0; a < attention_layers.size(); ++a) {
          if (attention_layers[a] != l + 1) continue;
          torch::Tensor cpu = probs.to(torch::kCPU).contiguous();
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
        torch::Tensor o =
            torch::matmul(probs, V).transpose(0, 1).reshape({t, c.dim});
        x = x + o.matmul(L.wo);
        torch::Tensor h2 = RmsNorm(x, L.ffn_norm, c.rms_eps);
        x = x +
            (torch::silu(h2.matmul(L.gate)) * h2.matmul(L.up)).matmul(L.down);
        for (size_t a = 0; a < hidden_layers.size(); ++a) {
          if (hidden_layers[a] != l + 1) continue;
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
  if (!keep) return std::shared_ptr<const KvCache>();
  return std::shared_ptr<const KvCache>(std::move(own));
}

absl::StatusOr<std::vector<std::shared_ptr<const KvCache>>>
LlamaDecoder::ForwardBatch(const std::vector<std::vector<int32_t>>& sequences,
                           int64_t position,
                           const std::vector<const KvCache*>& past) const {
  const LlamaConfig& c = w_->cfg;
  int64_t longest = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    if (sequences[s].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("sequence ", s, " is empty"));
    }
    for (int32_t id : sequences[s]) {
      if (id < 0 || id >= c.vocab) {
        return absl::InvalidArgumentError(absl::StrCat(
            "token id ", id, " in sequence ", s, " is outside the vocabulary"));
      }
    }
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
    const int64_t group = c.heads / c.kv_heads;
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
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
      const LayerWeights& L = w_->layers[l];
      torch::Tensor h = RmsNorm(x, L.attn_norm, c.rms_eps);
      torch::Tensor q = h.matmul(L.wq), k = h.matmul(L.wk), v = h.matmul(L.wv);
      if (c.qkv_bias) {
        q = q + L.bq;
        k = k + L.bk;
        v = v + L.bv;
      }
      // Rotate works on [tokens x heads x head_dim]: sequences stacked
      // along tokens share the position table.
      q = w_->Rotate(q.view({b, t, c.heads, c.head_dim})
                         .transpose(0, 1)
                         .reshape({t, b * c.heads, c.head_dim}),
                     cos, sin)
              .view({t, b, c.heads, c.head_dim})
              .permute({1, 2, 0, 3});  // [b x heads x t x d]
      k = w_->Rotate(k.view({b, t, c.kv_heads, c.head_dim})
                         .transpose(0, 1)
                         .reshape({t, b * c.kv_heads, c.head_dim}),
                     cos, sin)
              .view({t, b, c.kv_heads, c.head_dim})
              .permute({1, 2, 0, 3})
              .contiguous();  // [b x kv_heads x t x d]
      v = v.view({b, t, c.kv_heads, c.head_dim})
              .permute({0, 2, 1, 3})
              .contiguous();
      for (int64_t s = 0; s < b; ++s) {
        const int64_t n = caches[s]->tokens_;
        caches[s]->k[l] = k[s].narrow(1, 0, n).contiguous();
        caches[s]->v[l] = v[s].narrow(1, 0, n).contiguous();
      }
      torch::Tensor K = k, V = v;
      if (past_tokens > 0) {
        std::vector<torch::Tensor> ks, vs;
        for (const KvCache* p : past) {
          const auto* impl = static_cast<const KvCacheImpl*>(p);
          ks.push_back(impl->k[l]);
          vs.push_back(impl->v[l]);
        }
        torch::Tensor pk =
            torch::cat(ks, 1).unsqueeze(0).expand({b, -1, -1, -1});
        torch::Tensor pv =
            torch::cat(vs, 1).unsqueeze(0).expand({b, -1, -1, -1});
        K = torch::cat({pk, k}, 2);
        V = torch::cat({pv, v}, 2);
      }
      if (group > 1) {
        K = K.repeat_interleave(group, 1);
        V = V.repeat_interleave(group, 1);
      }
      torch::Tensor probs = torch::softmax(
          torch::matmul(q, K.transpose(2, 3)) * scale + bias, -1);
      torch::Tensor o =
          torch::matmul(probs, V).permute({0, 2, 1, 3}).reshape({b * t, c.dim});
      x = x + o.matmul(L.wo);
      torch::Tensor h2 = RmsNorm(x, L.ffn_norm, c.rms_eps);
      x = x + (torch::silu(h2.matmul(L.gate)) * h2.matmul(L.up)).matmul(L.down);
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
  absl::StatusOr<std::shared_ptr<const KvCache>> run =
      Forward(ids, {}, false, {static_cast<int>(c.layers)}, {}, &trace);
  if (!run.ok()) return run.status();
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

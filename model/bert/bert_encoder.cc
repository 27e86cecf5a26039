#include "model/bert/bert_encoder.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/formats/safetensors_file.h"
#include "model/runtime/digest.h"
#include "model/runtime/status_macros.h"
#include "model/runtime/torch_device.h"
#include "model/runtime/torch_thread.h"

namespace attnr::bert {
namespace {

absl::StatusOr<nlohmann::json> ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto j = nlohmann::json::parse(buffer.str(), nullptr, false);
  if (j.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not JSON"));
  }
  return j;
}

struct Layer {
  // Query, key and value projections stacked ([3 x hidden, hidden]): one
  // product instead of three small ones.
  torch::Tensor qkv_w, qkv_b, o_w, o_b, ln1_w, ln1_b;
  torch::Tensor i_w, i_b, out_w, out_b, ln2_w, ln2_b;
};

}  // namespace

struct BertEncoder::Weights {
  std::optional<tokenizers::WordPieceTokenizer> tokenizer;
  int64_t hidden = 0, heads = 0, max_positions = 0, max_tokens = 0;
  double eps = 1e-12;
  bool mean_pooling = true;
  bool normalize = false;
  int32_t cls_id = 0, sep_id = 0, pad_id = 0;
  torch::Tensor word, position, token_type, emb_ln_w, emb_ln_b;
  std::vector<Layer> layers;
  std::string name;
  std::string sha256;  // Of model.safetensors.
  torch::Device device = torch::kCPU;
};

BertEncoder::BertEncoder(std::unique_ptr<Weights> weights)
    : w_(std::move(weights)) {}
BertEncoder::~BertEncoder() = default;

const tokenizers::WordPieceTokenizer& BertEncoder::tokenizer() const {
  return *w_->tokenizer;
}
int64_t BertEncoder::dim() const { return w_->hidden; }
int64_t BertEncoder::max_tokens() const { return w_->max_tokens; }

absl::StatusOr<std::unique_ptr<BertEncoder>> BertEncoder::Load(
    const std::string& folder, int threads, const std::string& device) {
  absl::StatusOr<std::unique_ptr<BertEncoder>> out;
  runtime::TorchThread::Get().Run([&] {
    if (threads > 0) torch::set_num_threads(threads);
    out = LoadHere(folder, device);
  });
  return out;
}

absl::StatusOr<std::vector<float>> BertEncoder::Embed(
    const std::vector<std::vector<int32_t>>& sequences,
    const StopSignal& stop) const {
  absl::StatusOr<std::vector<float>> out;
  runtime::TorchThread::Get().Run([&] { out = EmbedHere(sequences, stop); });
  return out;
}

const std::string& BertEncoder::name() const { return w_->name; }
const std::string& BertEncoder::sha256() const { return w_->sha256; }

absl::StatusOr<std::unique_ptr<BertEncoder>> BertEncoder::LoadHere(
    const std::string& folder, const std::string& device_name) {
  ASSIGN_OR_RETURN(const torch::Device device,
                   runtime::ParseDevice(device_name));
  ASSIGN_OR_RETURN(auto config, ReadJson(folder + "/config.json"));
  const nlohmann::json& c = config;
  auto refuse = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(folder, ": this encoder does not run ", what));
  };
  if (c.value("model_type", "") != "bert") {
    return refuse(absl::StrCat("model_type '", c.value("model_type", ""),
                               "' (only bert)"));
  }
  if (c.value("hidden_act", "gelu") != "gelu") {
    return refuse(absl::StrCat("hidden_act ", c.value("hidden_act", "")));
  }
  if (c.value("position_embedding_type", "absolute") != "absolute") {
    return refuse("position embeddings other than absolute");
  }
  auto w = std::make_unique<Weights>();
  w->device = device;
  w->hidden = c.value("hidden_size", 0);
  w->heads = c.value("num_attention_heads", 0);
  w->max_positions = c.value("max_position_embeddings", 0);
  w->eps = c.value("layer_norm_eps", 1e-12);
  const int64_t layers = c.value("num_hidden_layers", 0);
  if (w->hidden <= 0 || w->heads <= 0 || w->hidden % w->heads != 0 ||
      layers <= 0 || w->max_positions < 3) {
    return refuse(
        "a config without consistent hidden_size, heads, layers "
        "and positions");
  }
  w->max_tokens = w->max_positions - 2;
  // sentence-transformers' own sequence limit, when it has one.
  if (auto st = ReadJson(folder + "/sentence_bert_config.json"); st.ok()) {
    const int64_t seq = st->value("max_seq_length", int64_t{0});
    if (seq > 2 && seq - 2 < w->max_tokens) w->max_tokens = seq - 2;
  }
  if (auto pooling = ReadJson(folder + "/1_Pooling/config.json");
      pooling.ok()) {
    const bool mean = pooling->value("pooling_mode_mean_tokens", false);
    const bool cls = pooling->value("pooling_mode_cls_token", false);
    if (mean == cls) return refuse("a pooling other than mean or CLS alone");
    w->mean_pooling = mean;
  }
  if (auto modules = ReadJson(folder + "/modules.json"); modules.ok()) {
    for (const auto& m : *modules) {
      if (m.value("type", "").find("Normalize") != std::string::npos) {
        w->normalize = true;
      }
    }
  }
  ASSIGN_OR_RETURN(auto tokenizer, tokenizers::WordPieceTokenizer::Load(
                                       folder + "/tokenizer.json"));
  w->tokenizer.emplace(std::move(tokenizer));
  w->cls_id = w->tokenizer->IdOf("[CLS]");
  w->sep_id = w->tokenizer->IdOf("[SEP]");
  w->pad_id = std::max(0, w->tokenizer->IdOf("[PAD]"));
  if (w->cls_id < 0 || w->sep_id < 0) {
    return refuse("a vocabulary without [CLS] and [SEP]");
  }

  // The weights' digest names the model in caches and in ModelInfo.
  ASSIGN_OR_RETURN(w->sha256,
                   runtime::FileSha256Hex(folder + "/model.safetensors"));
  {
    // The folder's own name ("all-minilm-l6-v2"), as the manifest calls it.
    std::string base = folder;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    w->name = base.substr(base.find_last_of('/') + 1);
  }
  ASSIGN_OR_RETURN(auto tensors,
                   formats::ReadSafetensors(folder + "/model.safetensors"));
  std::map<std::string, torch::Tensor>& t = tensors;
  // Checkpoints saved from BertModel have no prefix; from a task model,
  // "bert.".
  const std::string prefix =
      t.count("embeddings.word_embeddings.weight") ? "" : "bert.";
  absl::Status missing;
  auto take = [&](const std::string& name,
                  std::vector<int64_t> shape) -> torch::Tensor {
    auto it = t.find(prefix + name);
    if (it == t.end()) {
      if (missing.ok()) {
        missing = absl::DataLossError(absl::StrCat(
            folder, "/model.safetensors has no tensor '", prefix, name, "'"));
      }
      return torch::Tensor();
    }
    if (it->second.sizes().vec() != shape) {
      if (missing.ok()) {
        missing = absl::DataLossError(absl::StrCat(
            folder, "/model.safetensors: tensor '", prefix, name,
            "' has shape [", absl::StrJoin(it->second.sizes(), ","),
            "], config.json implies [", absl::StrJoin(shape, ","), "]"));
      }
      return torch::Tensor();
    }
    return it->second.to(device, torch::kFloat32).contiguous();
  };
  const int64_t h = w->hidden, ffn = c.value("intermediate_size", 0);
  const int64_t vocab = c.value("vocab_size", 0);
  const int64_t types = c.value("type_vocab_size", 2);
  w->word = take("embeddings.word_embeddings.weight", {vocab, h});
  w->position =
      take("embeddings.position_embeddings.weight", {w->max_positions, h});
  w->token_type = take("embeddings.token_type_embeddings.weight", {types, h});
  w->emb_ln_w = take("embeddings.LayerNorm.weight", {h});
  w->emb_ln_b = take("embeddings.LayerNorm.bias", {h});
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = absl::StrCat("encoder.layer.", l, ".");
    Layer L;
    std::vector<torch::Tensor> w_qkv, b_qkv;
    for (const char* part : {"query", "key", "value"}) {
      const std::string self = absl::StrCat(p, "attention.self.", part);
      w_qkv.push_back(take(self + ".weight", {h, h}));
      b_qkv.push_back(take(self + ".bias", {h}));
    }
    if (!missing.ok()) return missing;
    L.qkv_w = torch::cat(w_qkv).contiguous();
    L.qkv_b = torch::cat(b_qkv).contiguous();
    L.o_w = take(p + "attention.output.dense.weight", {h, h});
    L.o_b = take(p + "attention.output.dense.bias", {h});
    L.ln1_w = take(p + "attention.output.LayerNorm.weight", {h});
    L.ln1_b = take(p + "attention.output.LayerNorm.bias", {h});
    L.i_w = take(p + "intermediate.dense.weight", {ffn, h});
    L.i_b = take(p + "intermediate.dense.bias", {ffn});
    L.out_w = take(p + "output.dense.weight", {h, ffn});
    L.out_b = take(p + "output.dense.bias", {h});
    L.ln2_w = take(p + "output.LayerNorm.weight", {h});
    L.ln2_b = take(p + "output.LayerNorm.bias", {h});
    w->layers.push_back(std::move(L));
  }
  if (!missing.ok()) return missing;
  if (static_cast<int64_t>(w->tokenizer->vocab_size()) != vocab) {
    return absl::DataLossError(absl::StrCat(
        folder, ": tokenizer.json has ", w->tokenizer->vocab_size(),
        " tokens, config.json a vocab_size of ", vocab));
  }
  return std::unique_ptr<BertEncoder>(new BertEncoder(std::move(w)));
}

absl::StatusOr<std::vector<float>> BertEncoder::EmbedHere(
    const std::vector<std::vector<int32_t>>& sequences,
    const StopSignal& stop) const {
  const int64_t n = static_cast<int64_t>(sequences.size());
  if (n == 0) return std::vector<float>();
  int64_t longest = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const int64_t len = static_cast<int64_t>(sequences[i].size());
    if (len > w_->max_tokens) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sequence ", i, " has ", len, " tokens, over the encoder's ",
          w_->max_tokens, " (split it into passages)"));
    }
    longest = std::max(longest, len);
  }
  // Rows are packed: every per-token product runs on the real tokens alone
  // ([tokens, hidden]); only attention sees rows padded to the longest
  // (Prepare's batches carried ~18% padding when the products ran padded).
  const int64_t L = longest + 2;
  int64_t total = 0;
  for (const auto& s : sequences) total += static_cast<int64_t>(s.size()) + 2;
  std::vector<int64_t> ids, positions, slots, row_of;
  ids.reserve(total);
  positions.reserve(total);
  slots.reserve(total);
  row_of.reserve(total);
  // Attention bias: padding gets the most negative float, as the reference
  // does; real tokens 0.
  std::vector<float> pad_bias(n * L, std::numeric_limits<float>::lowest());
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = sequences[i];
    const int64_t len = static_cast<int64_t>(s.size()) + 2;
    for (int64_t k = 0; k < len; ++k) {
      ids.push_back(k == 0 ? w_->cls_id : k == len - 1 ? w_->sep_id : s[k - 1]);
      positions.push_back(k);
      slots.push_back(i * L + k);
      row_of.push_back(i);
      pad_bias[i * L + k] = 0.0f;
    }
  }
  try {
    c10::InferenceMode inference;
    auto upload = [&](std::vector<int64_t>& v) {
      return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())},
                              torch::kLong)
          .to(w_->device);
    };
    const torch::Tensor id_t = upload(ids), position_t = upload(positions),
                        slot_t = upload(slots), row_t = upload(row_of);
    const torch::Tensor bias =
        torch::from_blob(pad_bias.data(), {n, 1, 1, L}).to(w_->device);
    const int64_t h = w_->hidden, heads = w_->heads, d = h / heads;
    torch::Tensor x = w_->word.index_select(0, id_t) +
                      w_->position.index_select(0, position_t) +
                      w_->token_type[0];
    x = torch::layer_norm(x, {h}, w_->emb_ln_w, w_->emb_ln_b, w_->eps);
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    // Written in place each layer: the real slots are overwritten, the
    // padded ones stay zero.
    torch::Tensor padded = torch::zeros({n * L, 3 * h}, x.options());
    for (const Layer& l : w_->layers) {
      RETURN_IF_ERROR(stop.Check("dense encode"));
      // [3, n, heads, L, d]; padded slots stay zero and are masked as keys.
      const torch::Tensor qkv =
          padded.index_copy_(0, slot_t, torch::linear(x, l.qkv_w, l.qkv_b))
              .view({n, L, 3, heads, d})
              .permute({2, 0, 3, 1, 4})
              .contiguous();
      const torch::Tensor q = qkv[0], k = qkv[1], v = qkv[2];
#if TORCH_VERSION_MAJOR >= 2
      // LibTorch 2.x: the fused kernel (no [n, heads, L, L] product kept).
      const torch::Tensor ctx =
          at::scaled_dot_product_attention(q, k, v, bias, 0.0, false, scale);
#else
      const torch::Tensor probs = torch::softmax(
          torch::matmul(q, k.transpose(-1, -2)) * scale + bias, -1);
      const torch::Tensor ctx = torch::matmul(probs, v);
#endif
      const torch::Tensor attn = torch::layer_norm(
          torch::linear(
              ctx.transpose(1, 2).reshape({n * L, h}).index_select(0, slot_t),
              l.o_w, l.o_b) +
              x,
          {h}, l.ln1_w, l.ln1_b, w_->eps);
      const torch::Tensor inter =
          torch::gelu(torch::linear(attn, l.i_w, l.i_b));
      x = torch::layer_norm(torch::linear(inter, l.out_w, l.out_b) + attn, {h},
                            l.ln2_w, l.ln2_b, w_->eps);
    }
    torch::Tensor pooled;
    if (w_->mean_pooling) {
      const torch::Tensor counts =
          torch::zeros({n}, x.options())
              .index_add(0, row_t, torch::ones({total}, x.options()));
      pooled = torch::zeros({n, h}, x.options()).index_add(0, row_t, x) /
               counts.unsqueeze(1);
    } else {
      // Each row's [CLS]: the packed rows start at the running lengths.
      std::vector<int64_t> starts(n);
      for (int64_t i = 0, at = 0; i < n; ++i) {
        starts[i] = at;
        at += static_cast<int64_t>(sequences[i].size()) + 2;
      }
      pooled = x.index_select(0, upload(starts));
    }
    if (w_->normalize) {
      pooled = pooled / pooled.norm(2, 1, true).clamp_min(1e-12);
    }
    pooled = pooled.to(torch::kCPU).contiguous();
    const float* p = pooled.data_ptr<float>();
    return std::vector<float>(p, p + n * h);
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("BERT encoder failed: ", e.what_without_backtrace()));
  }
}

}  // namespace attnr::bert

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
  torch::Tensor q_w, q_b, k_w, k_b, v_w, v_b, o_w, o_b, ln1_w, ln1_b;
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
    L.q_w = take(p + "attention.self.query.weight", {h, h});
    L.q_b = take(p + "attention.self.query.bias", {h});
    L.k_w = take(p + "attention.self.key.weight", {h, h});
    L.k_b = take(p + "attention.self.key.bias", {h});
    L.v_w = take(p + "attention.self.value.weight", {h, h});
    L.v_b = take(p + "attention.self.value.bias", {h});
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
  const int64_t L = longest + 2;
  std::vector<int64_t> ids(n * L, w_->pad_id);
  std::vector<float> mask(n * L, 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = sequences[i];
    ids[i * L] = w_->cls_id;
    for (size_t k = 0; k < s.size(); ++k) ids[i * L + 1 + k] = s[k];
    ids[i * L + 1 + s.size()] = w_->sep_id;
    for (size_t k = 0; k < s.size() + 2; ++k) mask[i * L + k] = 1.0f;
  }
  try {
    torch::NoGradGuard no_grad;
    const torch::Tensor id_t =
        torch::from_blob(ids.data(), {n, L}, torch::kLong).to(w_->device);
    const torch::Tensor mask_t =
        torch::from_blob(mask.data(), {n, L}).to(w_->device);
    const int64_t h = w_->hidden, heads = w_->heads, d = h / heads;
    torch::Tensor x =
        w_->word.index_select(0, id_t.reshape({-1})).view({n, L, h}) +
        w_->position.slice(0, 0, L).unsqueeze(0) + w_->token_type[0];
    x = torch::layer_norm(x, {h}, w_->emb_ln_w, w_->emb_ln_b, w_->eps);
    // Padding gets the most negative float, as the reference does.
    const torch::Tensor bias =
        ((1.0f - mask_t) * std::numeric_limits<float>::lowest())
            .view({n, 1, 1, L});
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    for (const Layer& l : w_->layers) {
      RETURN_IF_ERROR(stop.Check("dense encode"));
      auto split = [&](const torch::Tensor& y) {
        // [n, heads, L, d], contiguous: batched products over strided
        // operands take a much slower path in this LibTorch.
        return y.view({n, L, heads, d}).transpose(1, 2).contiguous();
      };
      const torch::Tensor q = split(torch::linear(x, l.q_w, l.q_b));
      const torch::Tensor k = split(torch::linear(x, l.k_w, l.k_b));
      const torch::Tensor v = split(torch::linear(x, l.v_w, l.v_b));
#if TORCH_VERSION_MAJOR >= 2
      // LibTorch 2.x: the fused kernel (no [n, heads, L, L] product kept).
      const torch::Tensor ctx =
          at::scaled_dot_product_attention(q, k, v, bias, 0.0, false, scale)
              .transpose(1, 2)
              .reshape({n, L, h});
#else
      const torch::Tensor probs = torch::softmax(
          torch::matmul(q, k.transpose(-1, -2)) * scale + bias, -1);
      const torch::Tensor ctx =
          torch::matmul(probs, v).transpose(1, 2).reshape({n, L, h});
#endif
      const torch::Tensor attn = torch::layer_norm(
          torch::linear(ctx, l.o_w, l.o_b) + x, {h}, l.ln1_w, l.ln1_b, w_->eps);
      const torch::Tensor inter =
          torch::gelu(torch::linear(attn, l.i_w, l.i_b));
      x = torch::layer_norm(torch::linear(inter, l.out_w, l.out_b) + attn, {h},
                            l.ln2_w, l.ln2_b, w_->eps);
    }
    torch::Tensor pooled;
    if (w_->mean_pooling) {
      const torch::Tensor m = mask_t.unsqueeze(-1);
      pooled = (x * m).sum(1) / m.sum(1).clamp_min(1e-9);
    } else {
      pooled = x.select(1, 0);
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

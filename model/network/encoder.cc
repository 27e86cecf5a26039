#include "model/network/encoder.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace attnr::network {

std::string EncoderConfig::ToJson() const {
  return nlohmann::json{
      {"vocab_words", vocab_words}, {"vocab_buckets", vocab_buckets},
      {"glove_dim", glove_dim},     {"width", width},
      {"layers", layers},           {"heads", heads},
      {"window", window},           {"ffn", ffn},
      {"lm_vocab", lm_vocab}}
      .dump();
}

bool EncoderConfig::FromJson(const std::string& json) {
  const auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  for (const char* key : {"vocab_words", "vocab_buckets", "glove_dim", "width",
                          "layers", "heads", "window", "ffn", "lm_vocab"}) {
    if (!j.contains(key) || !j[key].is_number_integer()) return false;
  }
  vocab_words = j["vocab_words"];
  vocab_buckets = j["vocab_buckets"];
  glove_dim = j["glove_dim"];
  width = j["width"];
  layers = j["layers"];
  heads = j["heads"];
  window = j["window"];
  ffn = j["ffn"];
  lm_vocab = j["lm_vocab"];
  return width % heads == 0 && lm_vocab <= vocab_words && window > 0;
}

EncoderImpl::EncoderImpl(const EncoderConfig& config) : config_(config) {
  glove_ = register_parameter(
      "glove", torch::zeros({config.vocab_words, config.glove_dim}),
      /*requires_grad=*/false);
  buckets_ = register_parameter(
      "buckets", torch::randn({config.vocab_buckets, config.glove_dim}) * 0.3);
  in_proj_ = register_module("in_proj",
                             torch::nn::Linear(config.glove_dim, config.width));
  for (int64_t l = 0; l < config.layers; ++l) {
    Block b;
    const std::string p = "block" + std::to_string(l) + "_";
    b.norm1 = register_module(
        p + "norm1", torch::nn::LayerNorm(std::vector<int64_t>{config.width}));
    b.qkv = register_module(p + "qkv",
                            torch::nn::Linear(config.width, 3 * config.width));
    b.out = register_module(p + "out",
                            torch::nn::Linear(config.width, config.width));
    b.norm2 = register_module(
        p + "norm2", torch::nn::LayerNorm(std::vector<int64_t>{config.width}));
    b.ff1 =
        register_module(p + "ff1", torch::nn::Linear(config.width, config.ffn));
    b.ff2 =
        register_module(p + "ff2", torch::nn::Linear(config.ffn, config.width));
    blocks_.push_back(b);
  }
  final_norm_ = register_module(
      "final_norm", torch::nn::LayerNorm(std::vector<int64_t>{config.width}));
  term_weight_ =
      register_module("term_weight", torch::nn::Linear(config.width, 1));
  head_mix_ = register_parameter("head_mix",
                                 torch::zeros({config.layers * config.heads}));
  lm_proj_ = register_module("lm_proj",
                             torch::nn::Linear(config.width, config.glove_dim));
  lm_bias_ = register_parameter("lm_bias", torch::zeros({config.lm_vocab}));
  // ALiBi slopes: a geometric sequence from 2^(-8/H) down to 2^(-8), so some
  // heads look far back and others stay local.
  std::vector<float> slopes;
  for (int64_t h = 1; h <= config.heads; ++h) {
    slopes.push_back(std::pow(2.0f, -8.0f * h / config.heads));
  }
  slopes_ = register_buffer("slopes", torch::tensor(slopes));
}

void EncoderImpl::SetGlove(const torch::Tensor& vectors) {
  torch::NoGradGuard no_grad;
  glove_.copy_(vectors);
}

torch::Tensor EncoderImpl::Embed(const torch::Tensor& ids) {
  const int64_t words = config_.vocab_words;
  const torch::Tensor is_word = ids < words;
  const torch::Tensor word_rows =
      glove_.index_select(0, ids.clamp_max(words - 1));
  const torch::Tensor bucket_rows =
      buckets_.index_select(0, (ids - words).clamp_min(0));
  return torch::where(is_word.unsqueeze(1), word_rows, bucket_rows);
}

torch::Tensor EncoderImpl::LocalAttention(const torch::Tensor& q,
                                          const torch::Tensor& k,
                                          const torch::Tensor& v) {
  const int64_t n = q.size(1);
  const int64_t w = config_.window;
  const double scale = 1.0 / std::sqrt(static_cast<double>(config_.head_dim()));
  // Blocks of `w` queries see keys [block start - w + 1, block end): work
  // and memory grow linearly with n. Query i of a block and key j of its
  // span are i + w - 1 - j apart in every full block, so the ALiBi bias and
  // the causal/window mask are built once; the first block (keys from 0) and
  // a short last block are slices of the same tensor.
  const float inf = std::numeric_limits<float>::infinity();
  const torch::Tensor distance =
      (torch::arange(w, torch::kLong).unsqueeze(1) + (w - 1) -
       torch::arange(2 * w - 1, torch::kLong).unsqueeze(0))
          .to(torch::kFloat);  // [w, 2w - 1]
  const torch::Tensor bias =
      (-slopes_.view({-1, 1, 1}) * distance.unsqueeze(0))
          .masked_fill(~((distance >= 0) & (distance < w)).unsqueeze(0), -inf);
  std::vector<torch::Tensor> outs;
  for (int64_t s = 0; s < n; s += w) {
    const int64_t e = std::min(n, s + w);
    const int64_t ks = std::max<int64_t>(0, s - w + 1);
    const int64_t offset = ks - (s - w + 1);  // Columns before key 0.
    const torch::Tensor scores =
        torch::matmul(q.slice(1, s, e), k.slice(1, ks, e).transpose(1, 2)) *
            scale +
        bias.slice(1, 0, e - s).slice(2, offset, offset + (e - ks));
    outs.push_back(
        torch::matmul(torch::softmax(scores, -1), v.slice(1, ks, e)));
  }
  return torch::cat(outs, 1);
}

EncoderOutput EncoderImpl::Forward(const torch::Tensor& ids, bool keep_keys,
                                   bool keep_queries) {
  EncoderOutput out;
  const int64_t n = ids.size(0);
  const int64_t h = config_.heads, d = config_.head_dim();
  torch::Tensor x = in_proj_(Embed(ids));
  for (Block& b : blocks_) {
    const torch::Tensor qkv = b.qkv(b.norm1(x)).view({n, 3, h, d});
    const torch::Tensor q = qkv.select(1, 0).transpose(0, 1);  // [h, n, d]
    const torch::Tensor k = qkv.select(1, 1).transpose(0, 1);
    const torch::Tensor v = qkv.select(1, 2).transpose(0, 1);
    if (keep_keys) out.keys.push_back(k.contiguous());
    if (keep_queries) out.queries.push_back(q.contiguous());
    const torch::Tensor attn = LocalAttention(q, k, v);  // [h, n, d]
    x = x + b.out(attn.transpose(0, 1).reshape({n, h * d}));
    x = x + b.ff2(torch::gelu(b.ff1(b.norm2(x))));
  }
  out.hidden = final_norm_(x);
  return out;
}

std::vector<torch::Tensor> EncoderImpl::Relevance(
    const EncoderOutput& query,
    const std::vector<const std::vector<torch::Tensor>*>& docs) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(config_.head_dim()));
  // Term weights over the query's tokens, [m].
  const torch::Tensor terms =
      torch::softmax(term_weight_(query.hidden).squeeze(1), 0);
  const torch::Tensor mix =
      torch::softmax(head_mix_, 0).view({config_.layers, config_.heads});
  std::vector<torch::Tensor> relevance(docs.size());
  for (int64_t l = 0; l < config_.layers; ++l) {
    // Each query token's attention logits over every document, [h, m, n_d],
    // normalised jointly through the log-sum-exp of all of them.
    std::vector<torch::Tensor> logits, lse;
    for (const std::vector<torch::Tensor>* keys : docs) {
      logits.push_back(
          torch::matmul(query.queries[l], (*keys)[l].transpose(1, 2)) * scale);
      lse.push_back(torch::logsumexp(logits.back(), -1));
    }
    const torch::Tensor total =
        torch::logsumexp(torch::stack(lse), 0);  // [h, m]
    const torch::Tensor weights = (mix[l].view({-1, 1}) * terms.view({1, -1}))
                                      .reshape({1, -1});  // [1, h*m]
    for (size_t d = 0; d < docs.size(); ++d) {
      const torch::Tensor p = torch::exp(logits[d] - total.unsqueeze(-1));
      const torch::Tensor r =
          torch::matmul(weights, p.reshape({-1, p.size(2)})).squeeze(0);
      relevance[d] = relevance[d].defined() ? relevance[d] + r : r;
    }
  }
  return relevance;
}

torch::Tensor EncoderImpl::LanguageModelLogits(const torch::Tensor& hidden) {
  return torch::matmul(lm_proj_(hidden),
                       glove_.slice(0, 0, config_.lm_vocab).t()) +
         lm_bias_;
}

}  // namespace attnr::network

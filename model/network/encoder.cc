#include "model/network/encoder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "model/network/attention_readout.h"
#include "model/network/window_attention.h"

namespace attnr::network {
namespace {

// The (query token, document token) pairs that share a term (token_match;
// term key 0, a stopword, matches nothing): [pairs, 2], in query order.
torch::Tensor TermMatches(const torch::Tensor& query_terms,
                          const torch::Tensor& doc_terms) {
  return ((query_terms.unsqueeze(1) == doc_terms.unsqueeze(0)) &
          (query_terms != 0).unsqueeze(1))
      .nonzero();
}

}  // namespace

std::string EncoderConfig::ToJson() const {
  return nlohmann::json{
      {"vocab_words", vocab_words}, {"vocab_buckets", vocab_buckets},
      {"glove_dim", glove_dim},     {"width", width},
      {"layers", layers},           {"heads", heads},
      {"window", window},           {"ffn", ffn},
      {"lm_vocab", lm_vocab},       {"token_match", token_match}}
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
  token_match = false;
  if (j.contains("token_match")) {
    if (!j["token_match"].is_boolean()) return false;
    token_match = j["token_match"];
  }
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
  if (config.token_match) {
    // The trainer sets its starting value (--match_bias_init).
    match_bias_ = register_parameter(
        "match_bias", torch::zeros({config.layers * config.heads}));
  }
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

int64_t EncoderImpl::QueryBlock() const {
  return std::min<int64_t>(config_.window, kQueryBlock);
}

void EncoderImpl::BuildBlockBias() {
  // Query i of a block and key j of its span are i + w - 1 - j apart in
  // every full block, so the ALiBi bias and the causal/window mask are built
  // once per model; the first blocks (keys from 0) and a short last block
  // are slices of the same tensor.
  if (block_bias_.defined()) return;
  torch::NoGradGuard no_grad;
  const int64_t w = config_.window, b = QueryBlock();
  const float inf = std::numeric_limits<float>::infinity();
  const torch::Tensor distance =
      (torch::arange(b, torch::kLong).unsqueeze(1) + (w - 1) -
       torch::arange(b + w - 1, torch::kLong).unsqueeze(0))
          .to(torch::kFloat);  // [b, b + w - 1]
  block_bias_ =
      (-slopes_.view({-1, 1, 1}) * distance.unsqueeze(0))
          .masked_fill(~((distance >= 0) & (distance < w)).unsqueeze(0), -inf);
}

torch::Tensor EncoderImpl::AttentionBlock(const torch::Tensor& q,
                                          const torch::Tensor& k,
                                          const torch::Tensor& v, int64_t s) {
  // Queries [s, e) see keys [s - w + 1, e): work and memory grow linearly
  // with n. Of the b x (b + w - 1) scores of a full block only b x w are
  // inside the window; the rest are masked but still cost an exponential
  // each, so blocks are shorter than the window (b = w / 2 wastes a third of
  // them instead of half; much shorter blocks make the matrix products too
  // small to run well). q comes scaled by 1 / sqrt(head_dim), so the bias
  // is the product's starting value (one pass over the scores instead of
  // three).
  const int64_t n = q.size(1);
  const int64_t w = config_.window;
  const int64_t b = QueryBlock();
  const int64_t e = std::min(n, s + b);
  const int64_t ks = std::max<int64_t>(0, s - w + 1);
  const int64_t offset = ks - (s - w + 1);  // Columns before key 0.
  const torch::Tensor scores = torch::baddbmm(
      block_bias_.slice(1, 0, e - s).slice(2, offset, offset + (e - ks)),
      q.slice(1, s, e), k.slice(1, ks, e).transpose(1, 2));
  return torch::matmul(torch::softmax(scores, -1), v.slice(1, ks, e));
}

torch::Tensor EncoderImpl::TrainingLayer(Block& blk, const torch::Tensor& x,
                                         bool keep_keys, bool keep_queries,
                                         EncoderOutput& out) {
  const int64_t n = x.size(0);
  const int64_t h = config_.heads, d = config_.head_dim();
  const int64_t b = QueryBlock();
  const int64_t blocks = (n + b - 1) / b;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const torch::Tensor qkv = blk.qkv(blk.norm1(x)).view({n, 3, h, d});
  const torch::Tensor q = qkv.select(1, 0).transpose(0, 1);  // [h, n, d]
  const torch::Tensor k = qkv.select(1, 1).transpose(0, 1);
  const torch::Tensor v = qkv.select(1, 2).transpose(0, 1);
  if (keep_queries) out.queries.push_back(q.contiguous());
  if (keep_keys) out.keys.push_back(k.transpose(1, 2).contiguous());
  BuildBlockBias();  // Once per model.
  const torch::Tensor q_scaled = q * scale;
  std::vector<torch::Tensor> parts;
  for (int64_t i = 0; i < blocks; ++i) {
    parts.push_back(AttentionBlock(q_scaled, k, v, i * b));
  }
  const torch::Tensor attn = torch::cat(parts, 1);  // [h, n, d]
  torch::Tensor y = x + blk.out(attn.transpose(0, 1).reshape({n, h * d}));
  return y + blk.ff2(torch::gelu(blk.ff1(blk.norm2(y))));
}

void EncoderImpl::ServingLayer(Block& blk, torch::Tensor& x, bool keep_keys,
                               bool keep_queries, EncoderOutput& out,
                               const StopSignal* stop) {
  // The same function as TrainingLayer without autograd's temporaries. The
  // qkv projection writes q, k and v in the layouts the attention kernel
  // (window_attention.h) reads in place: keys transposed (also the layout
  // the read-out keeps), each head's values contiguous. The kernel writes
  // its result over q, and the projections add into x in place. Besides x,
  // a layer holds these three and then one chunk of the feed-forward at a
  // time (every step making its own temporaries raised the peak RSS of long
  // documents; MODEL_CARD.md, "Engineering measurements").
  const int64_t n = x.size(0);
  const int64_t h = config_.heads, d = config_.head_dim(), width = h * d;
  {
    const torch::Tensor xn = blk.norm1(x);
    const torch::Tensor& w = blk.qkv->weight;  // Rows: q, k, v.
    const torch::Tensor& bias = blk.qkv->bias;
    torch::Tensor q = torch::addmm(bias.slice(0, 0, width), xn,
                                   w.slice(0, 0, width).t());  // [n, width]
    if (keep_queries) {
      out.queries.push_back(q.view({n, h, d}).transpose(0, 1).contiguous());
    }
    if (stop != nullptr && stop->stopped()) return;
    const int64_t ld = KeysRowLength(n);
    torch::Tensor keys = torch::empty({h, d, ld});
    torch::Tensor keys_rows = keys.view({width, ld});
    torch::Tensor keys_used = keys_rows.narrow(1, 0, n);
    torch::addmm_out(keys_used, bias.slice(0, width, 2 * width).unsqueeze(1),
                     w.slice(0, width, 2 * width), xn.t());
    keys_rows.narrow(1, n, ld - n).zero_();
    if (stop != nullptr && stop->stopped()) return;
    torch::Tensor values = torch::empty({h, n, d});
    for (int64_t head = 0; head < h; ++head) {
      const int64_t row = 2 * width + head * d;
      torch::Tensor head_values = values[head];
      torch::addmm_out(head_values, bias.slice(0, row, row + d), xn,
                       w.slice(0, row, row + d).t());
    }
    WindowAttention({n, h, d, config_.window}, slopes_.data_ptr<float>(),
                    {q.data_ptr<float>(), keys.data_ptr<float>(), ld,
                     values.data_ptr<float>()},
                    AttentionKernel::kAuto, stop);
    if (stop != nullptr && stop->stopped()) return;
    if (keep_keys) out.keys.push_back(keys.narrow(2, 0, n));
    x.addmm_(q, blk.out->weight.t()).add_(blk.out->bias);
  }  // q, k and v are freed before the feed-forward's chunks are made.
  // The feed-forward's [rows, ffn] temporaries would be the largest of the
  // pass, so rows go through it in chunks.
  for (int64_t r = 0; r < n; r += kFeedForwardRows) {
    if (stop != nullptr && stop->stopped()) return;
    torch::Tensor rows = x.slice(0, r, std::min(n, r + kFeedForwardRows));
    torch::Tensor hidden =
        torch::addmm(blk.ff1->bias, blk.norm2(rows), blk.ff1->weight.t());
    torch::gelu_(hidden);
    rows.addmm_(hidden, blk.ff2->weight.t()).add_(blk.ff2->bias);
  }
}

EncoderOutput EncoderImpl::Forward(const torch::Tensor& ids, bool keep_keys,
                                   bool keep_queries, const StopSignal* stop) {
  EncoderOutput out;
  out.ids = ids;
  torch::Tensor x = in_proj_(Embed(ids));
  for (Block& blk : blocks_) {
    if (torch::GradMode::is_enabled()) {
      x = TrainingLayer(blk, x, keep_keys, keep_queries, out);
    } else {
      ServingLayer(blk, x, keep_keys, keep_queries, out, stop);
    }
    if (stop != nullptr && stop->stopped()) {
      out = EncoderOutput();
      out.stopped = true;
      return out;
    }
  }
  out.hidden = final_norm_(x);
  return out;
}

torch::Tensor EncoderImpl::TermWeights(const EncoderOutput& query) {
  return torch::softmax(term_weight_(query.hidden).squeeze(1), 0);
}

std::vector<torch::Tensor> EncoderImpl::QueryTokenRelevance(
    const EncoderOutput& query, const std::vector<const EncoderOutput*>& docs,
    int64_t first, int64_t count) {
  // Without autograd, on every request over every cached token:
  // attention_readout.h makes the logits a cache-sized chunk at a time.
  // Rows (query tokens) are independent, so a caller can take a long query
  // a group at a time and bound the [count, n] outputs.
  TORCH_CHECK(first >= 0 && count >= 0 && first + count <= query.ids.size(0),
              "query token rows out of range");
  const torch::Tensor terms = TermWeights(query).narrow(0, first, count);
  const torch::Tensor mix =
      torch::softmax(head_mix_, 0).view({config_.layers, config_.heads});
  const int64_t heads = config_.heads, m = count;
  std::vector<torch::Tensor> relevance, hit_tokens(docs.size()),
      hit_queries(docs.size());
  for (size_t d = 0; d < docs.size(); ++d) {
    relevance.push_back(torch::zeros({m, docs[d]->keys[0].size(2)}));
    if (!config_.token_match) continue;
    const torch::Tensor hits =
        TermMatches(query.terms.narrow(0, first, count), docs[d]->terms);
    const torch::Tensor order = hits.select(1, 1).argsort();
    hit_tokens[d] = hits.select(1, 1).index_select(0, order).contiguous();
    hit_queries[d] = hits.select(1, 0).index_select(0, order).contiguous();
  }
  for (int64_t l = 0; l < config_.layers; ++l) {
    const torch::Tensor q =
        query.queries[l].narrow(1, first, count).contiguous();  // [h, m, d]
    const torch::Tensor row_weights =
        (mix[l].view({-1, 1}) * terms.view({1, -1})).contiguous();
    const torch::Tensor bias =
        config_.token_match
            ? match_bias_.slice(0, l * heads, (l + 1) * heads).contiguous()
            : torch::Tensor();
    ReadoutLayer layer;
    layer.heads = heads;
    layer.queries = m;
    layer.head_dim = config_.head_dim();
    layer.q = q.data_ptr<float>();
    layer.match_bias = bias.defined() ? bias.data_ptr<float>() : nullptr;
    layer.row_weights = row_weights.data_ptr<float>();
    std::vector<ReadoutDocument> readout(docs.size());
    for (size_t d = 0; d < docs.size(); ++d) {
      const torch::Tensor& keys = docs[d]->keys[l];  // [h, d, n], rows of ld.
      TORCH_CHECK(keys.stride(2) == 1 &&
                      keys.stride(0) == keys.size(1) * keys.stride(1),
                  "cached keys are not in the read-out's layout");
      readout[d].keys_t = keys.data_ptr<float>();
      readout[d].ld = keys.stride(1);
      readout[d].tokens = keys.size(2);
      if (hit_tokens[d].defined()) {
        readout[d].hit_tokens = hit_tokens[d].data_ptr<int64_t>();
        readout[d].hit_queries = hit_queries[d].data_ptr<int64_t>();
        readout[d].hits = hit_tokens[d].size(0);
      }
      readout[d].relevance = relevance[d].data_ptr<float>();
    }
    AddReadoutLayer(layer, readout);
  }
  return relevance;
}

std::vector<torch::Tensor> EncoderImpl::Relevance(
    const EncoderOutput& query, const std::vector<const EncoderOutput*>& docs) {
  if (!torch::GradMode::is_enabled()) {
    std::vector<torch::Tensor> rows =
        QueryTokenRelevance(query, docs, 0, query.ids.size(0));
    for (torch::Tensor& r : rows) r = r.sum(0);
    return rows;
  }
  // The trainer's path, with autograd: whole [h, m, n_d] tensors per layer.
  const double scale = 1.0 / std::sqrt(static_cast<double>(config_.head_dim()));
  const torch::Tensor terms = TermWeights(query);  // [m]
  const torch::Tensor mix =
      torch::softmax(head_mix_, 0).view({config_.layers, config_.heads});
  const int64_t heads = config_.heads, m = query.ids.size(0);
  // Where a document token is a query term (token_match): flat indices into
  // [m, n_d]. Retrieval heads of large models find repeats of a query word;
  // a 32-wide head cannot give each of 50k words a key only its own query
  // matches, so a bias adds the match to those logits (a few dozen to
  // thousands of entries, against m * n_d logits).
  std::vector<torch::Tensor> matches(docs.size());
  std::vector<torch::Tensor> relevance(docs.size());
  if (config_.token_match) {
    for (size_t d = 0; d < docs.size(); ++d) {
      const torch::Tensor hits = TermMatches(query.terms, docs[d]->terms);
      matches[d] =
          hits.select(1, 0) * docs[d]->terms.size(0) + hits.select(1, 1);
    }
  }
  for (int64_t l = 0; l < config_.layers; ++l) {
    const torch::Tensor q = query.queries[l] * scale;   // [h, m, d]
    std::vector<torch::Tensor> exps, row_max, row_sum;  // Per document.
    for (size_t d = 0; d < docs.size(); ++d) {
      torch::Tensor logits = torch::matmul(q, docs[d]->keys[l]);  // [h, m, n_d]
      if (matches[d].defined() && matches[d].numel() > 0) {
        const int64_t n = logits.size(2);
        const torch::Tensor bias =
            match_bias_.slice(0, l * heads, (l + 1) * heads)
                .view({heads, 1})
                .expand({heads, matches[d].size(0)})
                .contiguous();
        logits = logits.view({heads, m * n})
                     .index_add(1, matches[d], bias)
                     .view({heads, m, n});
      }
      // A row's maximum is subtracted before the exponential (any constant
      // gives the same softmax, so it needs no gradient).
      row_max.push_back(torch::amax(logits.detach(), -1));
      exps.push_back(torch::exp(logits - row_max.back().unsqueeze(-1)));
      row_sum.push_back(exps.back().sum(-1));
    }
    // Joint normaliser: sum_d row_sum_d * exp(row_max_d - top), [h, m].
    const torch::Tensor top = torch::amax(torch::stack(row_max), 0);
    torch::Tensor total = torch::zeros_like(row_sum[0]);
    for (size_t d = 0; d < docs.size(); ++d) {
      total = total + row_sum[d] * torch::exp(row_max[d] - top);
    }
    const torch::Tensor weights =
        mix[l].view({-1, 1}) * terms.view({1, -1}) / total;  // [h, m]
    for (size_t d = 0; d < docs.size(); ++d) {
      const torch::Tensor coef =
          (weights * torch::exp(row_max[d] - top)).reshape({1, -1});
      const torch::Tensor r =
          torch::matmul(coef, exps[d].reshape({heads * m, -1})).squeeze(0);
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

void FlushDenormals() {
  at::globalContext().setFlushDenormal(true);
  at::parallel_for(0, at::get_num_threads(), 1, [](int64_t, int64_t) {
    at::globalContext().setFlushDenormal(true);
  });
}

}  // namespace attnr::network

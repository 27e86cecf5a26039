#ifndef ATTNR_MODEL_NETWORK_ENCODER_H_
#define ATTNR_MODEL_NETWORK_ENCODER_H_

// The one header that brings in LibTorch: include it only from the few
// translation units that run the network (encoder, weights file, attention
// model, trainer), to keep builds tractable on two cores.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/stop_signal.h"

namespace attnr::network {

struct EncoderConfig {
  int64_t vocab_words = 50000;   // Frozen GloVe rows.
  int64_t vocab_buckets = 4096;  // Trainable rows for other words.
  int64_t glove_dim = 100;
  int64_t width = 128;
  int64_t layers = 4;
  int64_t heads = 4;
  int64_t window = 256;  // Each token attends to itself and 255 before it.
  int64_t ffn = 512;
  int64_t lm_vocab = 8192;  // Next-token head over the most frequent words.
  // The read-out adds a learned bias (per layer and head) to the attention
  // logit of a document token that is the query token itself. Optional in
  // the JSON (files before 1.2.0 have none).
  bool token_match = false;

  int64_t head_dim() const { return width / heads; }
  std::string ToJson() const;
  // Fills from JSON produced by ToJson; false if a field is missing.
  bool FromJson(const std::string& json);
};

// What one pass over a token sequence yields.
struct EncoderOutput {
  // Forward gave up part-way (its StopSignal fired): nothing else is valid.
  bool stopped = false;
  torch::Tensor ids;  // [n], the input token ids.
  // [n] int64 term keys (TermKeys), set by the caller when the model has
  // token_match; read by the read-out.
  torch::Tensor terms;
  torch::Tensor hidden;  // [n, width], after the final norm.
  // Per layer, [heads, head_dim, n]: stored transposed because the read-out
  // multiplies queries by them on every request (faster than transposing
  // per request).
  std::vector<torch::Tensor> keys;

  std::vector<torch::Tensor> queries;  // Per layer, [heads, n, head_dim].
};

// A decoder-only transformer over word tokens: frozen GloVe embeddings
// (plus trainable hash buckets for other words) projected to `width`, then
// pre-norm blocks of causal sliding-window attention with ALiBi position
// biases (so it reads documents far longer than it was trained on at a cost
// linear in their length) and a GELU feed-forward.
//
// Retrieval read-out (the AttentionRetriever idea): the query's tokens,
// encoded by the same network, attend with each layer's own query
// projection to all of a document's keys at that layer; the attention mass
// a sentence receives, mixed over layers and heads by learned weights and
// over query tokens by learned term weights, is its relevance. With
// token_match, a document token that is one of the query's terms (same stem)
// gets a learned bias on its logit: a 32-wide head cannot give every one of
// 50k words a key that only its own query finds.
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const EncoderConfig& config);

  // Encodes ids [n] (int64). Keys and queries are kept when asked for.
  // Without autograd, `stop` (optional) is checked between layers and
  // between chunks of each layer's feed-forward; once it fires, Forward
  // returns early with `stopped` set and the output unusable.
  EncoderOutput Forward(const torch::Tensor& ids, bool keep_keys,
                        bool keep_queries, const StopSignal* stop = nullptr);

  // Attention mass per token of each document ([n_d] each): one softmax
  // over all the documents' tokens, so the masses sum to 1 over them all and
  // compare across documents. `query` comes from Forward with keep_queries,
  // each of `docs` from Forward with keep_keys (only ids and keys are read).
  // With autograd (the trainer) or without (the sum of QueryTokenRelevance's
  // rows).
  std::vector<torch::Tensor> Relevance(
      const EncoderOutput& query,
      const std::vector<const EncoderOutput*>& docs);

  // The same mass split by query token, for query tokens [first, first +
  // count): [count, n_d] per document; row j sums to TermWeights()[first +
  // j] over all the documents. Serving only (no autograd).
  std::vector<torch::Tensor> QueryTokenRelevance(
      const EncoderOutput& query, const std::vector<const EncoderOutput*>& docs,
      int64_t first, int64_t count);

  // The learned weight of each query token in the read-out, [m], sums to 1.
  torch::Tensor TermWeights(const EncoderOutput& query);

  // Next-token logits over the lm_vocab most frequent words, [n, lm_vocab].
  torch::Tensor LanguageModelLogits(const torch::Tensor& hidden);

  // Copies the GloVe table [vocab_words, glove_dim] into the frozen rows.
  void SetGlove(const torch::Tensor& vectors);

  const EncoderConfig& config() const { return config_; }

 private:
  struct Block {
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    torch::nn::Linear qkv{nullptr}, out{nullptr}, ff1{nullptr}, ff2{nullptr};
  };

  torch::Tensor Embed(const torch::Tensor& ids);
  // One layer of Forward, with autograd (the trainer) and without (serving,
  // in place and with the attention kernel); both append the layer's keys
  // and queries to `out` when asked.
  torch::Tensor TrainingLayer(Block& blk, const torch::Tensor& x,
                              bool keep_keys, bool keep_queries,
                              EncoderOutput& out);
  void ServingLayer(Block& blk, torch::Tensor& x, bool keep_keys,
                    bool keep_queries, EncoderOutput& out,
                    const StopSignal* stop);
  // Causal sliding-window attention of the queries [s, s + QueryBlock())
  // over k, v (all [heads, n, head_dim]): [heads, block, head_dim].
  torch::Tensor AttentionBlock(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, int64_t s);
  int64_t QueryBlock() const;
  // Fills block_bias_ once (ALiBi bias plus the causal window mask).
  void BuildBlockBias();

  // Queries per block of the training pass's sliding-window attention (see
  // AttentionBlock; serving runs window_attention.h).
  static constexpr int64_t kQueryBlock = 128;
  // Rows per chunk of the feed-forward when serving (no autograd).
  static constexpr int64_t kFeedForwardRows = 4096;

  EncoderConfig config_;
  torch::Tensor block_bias_;  // [heads, block, block + window - 1], lazily.
  torch::Tensor glove_;       // [vocab_words, glove_dim], no gradient.
  torch::Tensor buckets_;     // [vocab_buckets, glove_dim].
  torch::nn::Linear in_proj_{nullptr};
  std::vector<Block> blocks_;
  torch::nn::LayerNorm final_norm_{nullptr};
  torch::nn::Linear term_weight_{nullptr};  // Query-term weights.
  torch::Tensor head_mix_;                  // [layers * heads] logits.
  torch::Tensor match_bias_;  // [layers * heads], when config_.token_match.
  torch::nn::Linear lm_proj_{nullptr};  // width -> glove_dim.
  torch::Tensor lm_bias_;               // [lm_vocab].
  torch::Tensor slopes_;                // ALiBi slope per head.
};
TORCH_MODULE(Encoder);

// Attention far from a query is e^-90 and less: denormal floats, which x86
// multiplies about a hundred times slower than normal ones. Sets
// flush-to-zero on the calling thread and on each of its LibTorch (OpenMP)
// worker threads, whose floating-point modes are their own; scores lose
// nothing above 1e-38.
void FlushDenormals();

}  // namespace attnr::network

#endif  // ATTNR_MODEL_NETWORK_ENCODER_H_

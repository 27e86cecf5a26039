#ifndef ATTNR_MODEL_NETWORK_ATTENTION_READOUT_H_
#define ATTNR_MODEL_NETWORK_ATTENTION_READOUT_H_

#include <cstdint>
#include <vector>

namespace attnr::network {

// One cached document as the read-out sees it.
struct ReadoutDocument {
  const float* keys_t = nullptr;  // This layer's keys, [heads, head_dim, ld].
  int64_t ld = 0;
  int64_t tokens = 0;
  // Term-match pairs (document token, query token), sorted by token.
  const int64_t* hit_tokens = nullptr;
  const int64_t* hit_queries = nullptr;
  int64_t hits = 0;
  // [queries, tokens], added to: each query token's row of attention mass
  // (summed over heads), so a caller can ask which query tokens a span
  // answers, not only how much mass it gets.
  float* relevance = nullptr;
};

// One layer of the read-out.
struct ReadoutLayer {
  int64_t heads = 0, queries = 0, head_dim = 0;
  const float* q = nullptr;           // [heads, queries, head_dim].
  const float* match_bias = nullptr;  // [heads], or null: no term match.
  // Weight of each (head, query token) row before normalising: the layer x
  // head mixture times the query token's term weight, [heads, queries].
  const float* row_weights = nullptr;
};

// Adds one layer's attention mass to every document's relevance: for each
// head and query token, softmax over all documents' tokens of
//   q . k_t / sqrt(head_dim) + match_bias[head] * (t shares the query
//   token's stem),
// times the row's weight, into that query token's row of relevance. The
// logits are made a chunk of tokens at a time
// (one OpenBLAS product per head and chunk, on LibTorch's intra-op threads),
// twice: a first pass keeps each row's running maximum and sum (the
// normaliser, over all documents), a second adds the weighted probabilities.
// Whole [heads, queries, tokens] tensors went through memory four times
// before; chunks stay in cache, and recomputing a product costs less.
void AddReadoutLayer(const ReadoutLayer& layer,
                     const std::vector<ReadoutDocument>& documents);

}  // namespace attnr::network

#endif  // ATTNR_MODEL_NETWORK_ATTENTION_READOUT_H_

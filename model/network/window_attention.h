#ifndef ATTNR_MODEL_NETWORK_WINDOW_ATTENTION_H_
#define ATTNR_MODEL_NETWORK_WINDOW_ATTENTION_H_

#include <cstdint>

#include "model/stop_signal.h"

namespace attnr::network {

// One layer's causal sliding-window attention.
struct WindowAttentionShape {
  int64_t tokens = 0;
  int64_t heads = 0;
  int64_t head_dim = 0;
  int64_t window = 0;  // Keys each query sees, its own included.
};

// Its operands, in the layouts the kernel reads without copying (the
// encoder's projections write them so: a matrix product lays out its result
// for free, where a transposing copy of the keys cost a fifth of the
// encoder; figures in model/weights/MODEL_CARD.md, "Engineering
// measurements").
struct WindowAttentionOperands {
  // [tokens, heads * head_dim], row-major. Overwritten by the result (head h
  // of token t where q_t of head h was): a query is read only by its own
  // block's task, which writes its result after reading it.
  float* queries = nullptr;
  // Transposed keys, [heads, head_dim, keys_ld] with keys_ld =
  // KeysRowLength(tokens); the columns past `tokens` must be finite (their
  // scores are computed and thrown away).
  const float* keys_t = nullptr;
  int64_t keys_ld = 0;
  // [heads, tokens, head_dim]: each head's values contiguous.
  const float* values = nullptr;
};

// The encoder's attention when serving, as one kernel: for every head h and
// query t, softmax over keys j in (t - window, t] of
//   q_t . k_j / sqrt(head_dim) - slopes[h] * (t - j)   (ALiBi)
// and the weighted sum of those v_j. Work is split into blocks of queries,
// each one head's block on one thread, with the block's scores in a
// per-thread buffer that stays in cache between the products and the
// softmax (no per-block tensors). Runs on LibTorch's intra-op threads
// (at::parallel_for).
enum class AttentionKernel {
  // AVX-512 where the CPU and head_dim allow, else kBlas. Computes each
  // query's window only (to whole cache lines), scores in registers.
  kAuto,
  // Portable: two OpenBLAS products per block, over the block's whole
  // rectangle of scores (a fifth of them masked).
  kBlas,
};
// With `stop`, the remaining blocks are skipped once it fires (the result is
// then garbage, and the caller must see the stop and drop it).
void WindowAttention(const WindowAttentionShape& shape, const float* slopes,
                     const WindowAttentionOperands& operands,
                     AttentionKernel kernel = AttentionKernel::kAuto,
                     const StopSignal* stop = nullptr);

// Floats per head_dim row of the transposed keys: tokens rounded up to 16
// (rows of whole cache lines make the AVX-512 loads aligned), and not a
// multiple of 1024 (rows a whole number of pages apart share cache sets).
int64_t KeysRowLength(int64_t tokens);

// Whether kAuto takes the AVX-512 path: the CPU has it and head_dim is 16,
// 32, 48 or 64 (one to four vectors a row).
bool Avx512AttentionAvailable(int64_t head_dim);

}  // namespace attnr::network

#endif  // ATTNR_MODEL_NETWORK_WINDOW_ATTENTION_H_

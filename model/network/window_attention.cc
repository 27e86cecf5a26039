#include "model/network/window_attention.h"

#include <ATen/Parallel.h>
#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "model/network/fast_exp.h"

namespace attnr::network {
namespace {

// Queries per block. On the BLAS path a block's scores are a rectangle of
// block x (block + window - 1), of which each query uses window: shorter
// blocks waste fewer products on masked scores, longer ones make better
// matrix products (64 was measured best: MODEL_CARD.md, "Engineering
// measurements").
// The AVX-512 path computes windows only; the block sets its task size.
constexpr int64_t kQueryBlock = 64;

// One query's row of scores: adds the ALiBi bias to the window's columns
// [lo, hi], replaces them by e^(logit - max), zeroes the columns outside the
// window and returns 1 / (sum of the exponentials), which the caller applies
// to the row's output (head_dim values instead of the window's). Column c
// is `distance_at_lo - (c - lo)` positions before the query. Compiled for
// AVX-512, AVX2 and the baseline, picked at load time (the rest of the
// build targets baseline x86-64).
__attribute__((target_clones("avx512f", "avx2", "default"))) float SoftmaxRow(
    float* row, int64_t span, int64_t lo, int64_t hi, float slope,
    float distance_at_lo) {
  std::fill(row, row + lo, 0.0f);
  std::fill(row + hi + 1, row + span, 0.0f);
  float* band = row + lo;
  // 32-bit counters: an int64 -> float conversion has no vector
  // instruction below AVX-512DQ and kept the loop scalar.
  const int32_t count = static_cast<int32_t>(hi - lo + 1);
  float top = -INFINITY;
#pragma omp simd reduction(max : top)
  for (int32_t c = 0; c < count; ++c) {
    const float logit =
        band[c] - slope * (distance_at_lo - static_cast<float>(c));
    band[c] = logit;
    top = std::max(top, logit);
  }
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int32_t c = 0; c < count; ++c) {
    const float e = ExpNonPositive(band[c] - top);
    band[c] = e;
    sum += e;
  }
  return 1.0f / sum;
}

// One task: a block of queries [s, e) of one head, whose keys span [ks, e).
struct Block {
  int64_t h, s, e, ks;
  int64_t rows() const { return e - s; }
  int64_t span() const { return e - ks; }
  // The query at row r sees the span's columns [Lo(r), Hi(r)].
  int64_t Lo(int64_t r, int64_t window) const {
    return std::max(ks, s + r - window + 1) - ks;
  }
  int64_t Hi(int64_t r) const { return s + r - ks; }
};

// A thread's score buffer, reused by all its tasks, 64-byte aligned for
// the vector loads and stores.
class Scratch {
 public:
  float* Get(size_t floats) {
    if (floats > size_) {
      data_.reset(static_cast<float*>(
          std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64)));
      size_ = floats;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  size_t size_ = 0;
};

// Softmax of every row of a block's scores (rows ld floats apart, column 0
// = the span's first key) over its window; the rows' 1 / sums go to
// `inverse_sums`.
void SoftmaxRows(const Block& b, int64_t window, float slope, float* scores,
                 int64_t ld, float* inverse_sums) {
  for (int64_t r = 0; r < b.rows(); ++r) {
    const int64_t lo = b.Lo(r, window), hi = b.Hi(r);
    inverse_sums[r] = SoftmaxRow(scores + r * ld, b.span(), lo, hi, slope,
                                 static_cast<float>(hi - lo));
  }
}

void BlasBlock(const Block& b, const WindowAttentionShape& shape, float slope,
               const WindowAttentionOperands& in, Scratch& scratch) {
  const int64_t d = shape.head_dim, q_row = shape.heads * d;
  const int64_t span = b.span();
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  float* scores = scratch.Get(b.rows() * span + b.rows());
  float* inverse_sums = scores + b.rows() * span;
  float* q = in.queries + b.s * q_row + b.h * d;
  const float* keys_t = in.keys_t + b.h * d * in.keys_ld + b.ks;
  const float* v = in.values + (b.h * shape.tokens + b.ks) * d;
  // Inside a parallel region OpenBLAS runs each product on this thread.
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b.rows(), span, d,
              scale, q, q_row, keys_t, in.keys_ld, 0.0f, scores, span);
  SoftmaxRows(b, shape.window, slope, scores, span, inverse_sums);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b.rows(), d, span,
              1.0f, scores, span, v, d, 0.0f, q, q_row);
  for (int64_t r = 0; r < b.rows(); ++r) {
    float* row = q + r * q_row;
    for (int64_t c = 0; c < d; ++c) row[c] *= inverse_sums[r];
  }
}

// Scores of one query over kVectors * 16 keys: they stay in registers while
// the query's head_dim values are broadcast over the transposed keys, one
// aligned load per multiply-add.
template <int kVectors>
__attribute__((target("avx512f"))) inline void DotChunk(const float* q,
                                                        int64_t d, float scale,
                                                        const float* keys_t,
                                                        int64_t ld,
                                                        float* out) {
  __m512 acc[kVectors];
#pragma GCC unroll 8
  for (int v = 0; v < kVectors; ++v) acc[v] = _mm512_setzero_ps();
  for (int64_t c = 0; c < d; ++c) {
    const __m512 factor = _mm512_set1_ps(q[c] * scale);
    const float* keys = keys_t + c * ld;
#pragma GCC unroll 8
    for (int v = 0; v < kVectors; ++v) {
      acc[v] = _mm512_fmadd_ps(factor, _mm512_load_ps(keys + 16 * v), acc[v]);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < kVectors; ++v) _mm512_store_ps(out + 16 * v, acc[v]);
}

// Results of kRows neighbouring queries: their weights (rows of p, ld
// apart, zero outside each window) over the values of the columns [j0, j1),
// the union of their windows, so that kRows rows share each value load.
// Scaled by the rows' 1 / sums on the way out.
template <int kRows, int kDv>
__attribute__((target("avx512f"))) inline void WeightedValues(
    const float* p, int64_t ld, int64_t j0, int64_t j1, const float* v,
    const float* inverse_sums, float* o, int64_t o_row) {
  constexpr int64_t d = 16 * kDv;
  __m512 acc[kRows][kDv];
  for (int i = 0; i < kRows; ++i) {
    for (int u = 0; u < kDv; ++u) acc[i][u] = _mm512_setzero_ps();
  }
  for (int64_t j = j0; j < j1; ++j) {
    __m512 values[kDv];
    for (int u = 0; u < kDv; ++u) {
      values[u] = _mm512_loadu_ps(v + j * d + 16 * u);
    }
    for (int i = 0; i < kRows; ++i) {
      const __m512 weight = _mm512_set1_ps(p[i * ld + j]);
      for (int u = 0; u < kDv; ++u) {
        acc[i][u] = _mm512_fmadd_ps(weight, values[u], acc[i][u]);
      }
    }
  }
  for (int i = 0; i < kRows; ++i) {
    const __m512 inverse = _mm512_set1_ps(inverse_sums[i]);
    for (int u = 0; u < kDv; ++u) {
      _mm512_storeu_ps(o + i * o_row + 16 * u,
                       _mm512_mul_ps(acc[i][u], inverse));
    }
  }
}

template <int kDv>
__attribute__((target("avx512f"))) void Avx512Block(
    const Block& b, const WindowAttentionShape& shape, float slope,
    const WindowAttentionOperands& in, Scratch& scratch) {
  constexpr int64_t d = 16 * kDv;
  const int64_t w = shape.window, q_row = shape.heads * d;
  // Score columns are keys from `base`, the span's start down to a line.
  const int64_t base = b.ks / 16 * 16, shift = b.ks - base;
  const int64_t ld = (b.e + 15) / 16 * 16 - base;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  float* scores = scratch.Get(b.rows() * ld + b.rows());
  float* inverse_sums = scores + b.rows() * ld;
  const float* keys_t = in.keys_t + b.h * d * in.keys_ld + base;
  float* q = in.queries + b.s * q_row + b.h * d;
  for (int64_t r = 0; r < b.rows(); ++r) {
    // The window [lo, hi], widened to whole 16-column lines.
    int64_t col = (b.Lo(r, w) + shift) / 16 * 16;
    const int64_t end = (b.Hi(r) + shift + 16) / 16 * 16;
    float* row = scores + r * ld;
    for (; end - col >= 128; col += 128) {
      DotChunk<8>(q + r * q_row, d, scale, keys_t + col, in.keys_ld, row + col);
    }
    for (; col < end; col += 16) {
      DotChunk<1>(q + r * q_row, d, scale, keys_t + col, in.keys_ld, row + col);
    }
  }
  float* p = scores + shift;  // Column 0: the span's first key.
  SoftmaxRows(b, w, slope, p, ld, inverse_sums);
  const float* v = in.values + (b.h * shape.tokens + b.ks) * d;
  int64_t r = 0;
  for (; r + 4 <= b.rows(); r += 4) {
    WeightedValues<4, kDv>(p + r * ld, ld, b.Lo(r, w), b.Hi(r + 3) + 1, v,
                           inverse_sums + r, q + r * q_row, q_row);
  }
  for (; r < b.rows(); ++r) {
    WeightedValues<1, kDv>(p + r * ld, ld, b.Lo(r, w), b.Hi(r) + 1, v,
                           inverse_sums + r, q + r * q_row, q_row);
  }
}

using BlockFunction = void (*)(const Block&, const WindowAttentionShape&, float,
                               const WindowAttentionOperands&, Scratch&);

BlockFunction Avx512BlockFor(int64_t head_dim) {
  switch (head_dim) {
    case 16:
      return &Avx512Block<1>;
    case 32:
      return &Avx512Block<2>;
    case 48:
      return &Avx512Block<3>;
    case 64:
      return &Avx512Block<4>;
    default:
      return nullptr;
  }
}

}  // namespace

bool Avx512AttentionAvailable(int64_t head_dim) {
  return __builtin_cpu_supports("avx512f") && Avx512BlockFor(head_dim);
}

int64_t KeysRowLength(int64_t tokens) {
  int64_t ld = (tokens + 15) / 16 * 16;
  if (ld % 1024 == 0) ld += 16;
  return ld;
}

void WindowAttention(const WindowAttentionShape& shape, const float* slopes,
                     const WindowAttentionOperands& operands,
                     AttentionKernel kernel, const StopSignal* stop) {
  const int64_t n = shape.tokens, heads = shape.heads;
  if (n <= 0) return;
  BlockFunction run = &BlasBlock;
  if (kernel == AttentionKernel::kAuto &&
      Avx512AttentionAvailable(shape.head_dim)) {
    run = Avx512BlockFor(shape.head_dim);
  }
  // Tasks in order of position with the heads inside, so the threads work
  // on neighbouring keys at the same time.
  const int64_t blocks = (n + kQueryBlock - 1) / kQueryBlock;
  at::parallel_for(0, blocks * heads, 1, [&](int64_t first, int64_t last) {
    Scratch scratch;  // Per thread, reused by every task of the range.
    for (int64_t task = first; task < last; ++task) {
      if (stop != nullptr && task % 64 == 0 && stop->stopped()) return;
      Block b;
      b.h = task % heads;
      b.s = (task / heads) * kQueryBlock;
      b.e = std::min(n, b.s + kQueryBlock);
      b.ks = std::max<int64_t>(0, b.s - shape.window + 1);
      run(b, shape, slopes[b.h], operands, scratch);
    }
  });
}

}  // namespace attnr::network

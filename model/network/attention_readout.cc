#include "model/network/attention_readout.h"

#include <ATen/Parallel.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "model/network/fast_exp.h"

namespace attnr::network {
namespace {

// Tokens per chunk: a 12-token query's 4 x 12 x 1024 logits are 192 KB.
constexpr int64_t kChunk = 1024;

struct Chunk {
  size_t document;
  int64_t begin, end;
};

// Logits of one head's rows over the chunk's tokens, [queries, end - begin],
// with the term-match bias added.
void Logits(const ReadoutLayer& layer, const ReadoutDocument& doc,
            const Chunk& c, int64_t h, float* out) {
  const int64_t d = layer.head_dim, width = c.end - c.begin;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, layer.queries, width,
              d, scale, layer.q + h * layer.queries * d, d,
              doc.keys_t + h * d * doc.ld + c.begin, doc.ld, 0.0f, out, width);
  if (layer.match_bias == nullptr || doc.hits == 0) return;
  const int64_t* first =
      std::lower_bound(doc.hit_tokens, doc.hit_tokens + doc.hits, c.begin);
  for (const int64_t* t = first; t < doc.hit_tokens + doc.hits && *t < c.end;
       ++t) {
    out[doc.hit_queries[t - doc.hit_tokens] * width + (*t - c.begin)] +=
        layer.match_bias[h];
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) float RowMax(
    const float* row, int32_t n) {
  float top = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : top)
  for (int32_t i = 0; i < n; ++i) {
    const float v = row[i];  // std::max on row[i] itself stayed scalar.
    top = v > top ? v : top;
  }
  return top;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) float SumExp(
    const float* row, int32_t n, float shift) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int32_t i = 0; i < n; ++i) sum += ExpNonPositive(row[i] - shift);
  return sum;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void AddExp(
    const float* row, int32_t n, float shift, float weight, float* out) {
#pragma omp simd
  for (int32_t i = 0; i < n; ++i) {
    out[i] += weight * ExpNonPositive(row[i] - shift);
  }
}

}  // namespace

void AddReadoutLayer(const ReadoutLayer& layer,
                     const std::vector<ReadoutDocument>& documents) {
  const int64_t rows = layer.heads * layer.queries;
  std::vector<Chunk> chunks;
  for (size_t d = 0; d < documents.size(); ++d) {
    for (int64_t b = 0; b < documents[d].tokens; b += kChunk) {
      chunks.push_back({d, b, std::min(documents[d].tokens, b + kChunk)});
    }
  }
  if (chunks.empty() || rows == 0) return;
  const int64_t n_chunks = static_cast<int64_t>(chunks.size());
  // Pass 1: each thread's running maximum and sum per row, then merged.
  const int threads = at::get_num_threads();
  std::vector<float> tops(threads * rows,
                          -std::numeric_limits<float>::infinity());
  std::vector<float> sums(threads * rows, 0.0f);
  at::parallel_for(0, n_chunks, 1, [&](int64_t first, int64_t last) {
    const int thread = at::get_thread_num();
    float* top = tops.data() + thread * rows;
    float* sum = sums.data() + thread * rows;
    std::vector<float> logits(layer.queries * kChunk);
    for (int64_t i = first; i < last; ++i) {
      const Chunk& c = chunks[i];
      const int32_t width = static_cast<int32_t>(c.end - c.begin);
      for (int64_t h = 0; h < layer.heads; ++h) {
        Logits(layer, documents[c.document], c, h, logits.data());
        for (int64_t q = 0; q < layer.queries; ++q) {
          const float* row = logits.data() + q * width;
          const int64_t r = h * layer.queries + q;
          const float next = std::max(top[r], RowMax(row, width));
          sum[r] =
              sum[r] * ExpNonPositive(top[r] - next) + SumExp(row, width, next);
          top[r] = next;
        }
      }
    }
  });
  std::vector<float> top(rows, -std::numeric_limits<float>::infinity());
  std::vector<float> weight(rows, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int t = 0; t < threads; ++t)
      top[r] = std::max(top[r], tops[t * rows + r]);
    float total = 0.0f;
    for (int t = 0; t < threads; ++t) {
      if (sums[t * rows + r] > 0.0f) {
        total += sums[t * rows + r] * std::exp(tops[t * rows + r] - top[r]);
      }
    }
    weight[r] = layer.row_weights[r] / total;
  }
  // Pass 2: the weighted probabilities, each chunk into its own tokens.
  at::parallel_for(0, n_chunks, 1, [&](int64_t first, int64_t last) {
    std::vector<float> logits(layer.queries * kChunk);
    for (int64_t i = first; i < last; ++i) {
      const Chunk& c = chunks[i];
      const ReadoutDocument& doc = documents[c.document];
      const int32_t width = static_cast<int32_t>(c.end - c.begin);
      for (int64_t h = 0; h < layer.heads; ++h) {
        Logits(layer, doc, c, h, logits.data());
        for (int64_t q = 0; q < layer.queries; ++q) {
          const int64_t r = h * layer.queries + q;
          AddExp(logits.data() + q * width, width, top[r], weight[r],
                 doc.relevance + q * doc.tokens + c.begin);
        }
      }
    }
  });
}

}  // namespace attnr::network

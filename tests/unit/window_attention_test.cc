#include "model/network/window_attention.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace attnr::network {
namespace {

// Random operands in the kernel's layouts, and the attention computed the
// plain way (double precision, every key of every window in a loop).
struct Case {
  WindowAttentionShape shape;
  std::vector<float> slopes, queries, keys_t, values;
  int64_t ld = 0;

  explicit Case(WindowAttentionShape s, uint32_t seed = 7) : shape(s) {
    const int64_t n = s.tokens, h = s.heads, d = s.head_dim;
    ld = KeysRowLength(n);
    std::mt19937 rng(seed);
    // Logits of a few units, as a trained model's: peaked but not one-hot.
    std::normal_distribution<float> normal(0.0f, 1.5f);
    for (int64_t i = 0; i < h; ++i)
      slopes.push_back(std::pow(2.0f, -1.0f - 2 * i));
    queries.resize(n * h * d);
    values.resize(h * n * d);
    keys_t.assign(h * d * ld, 0.0f);
    for (float& x : queries) x = normal(rng);
    for (float& x : values) x = normal(rng);
    for (int64_t i = 0; i < h * d; ++i) {
      for (int64_t t = 0; t < n; ++t) keys_t[i * ld + t] = normal(rng);
    }
  }

  std::vector<float> Reference() const {
    const int64_t n = shape.tokens, h = shape.heads, d = shape.head_dim;
    std::vector<float> out(n * h * d);
    for (int64_t head = 0; head < h; ++head) {
      for (int64_t t = 0; t < n; ++t) {
        const int64_t first = std::max<int64_t>(0, t - shape.window + 1);
        std::vector<double> logits;
        double top = -1e300;
        for (int64_t j = first; j <= t; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < d; ++c) {
            dot += double{queries[(t * h + head) * d + c]} *
                   keys_t[(head * d + c) * ld + j];
          }
          logits.push_back(dot / std::sqrt(double(d)) -
                           double{slopes[head]} * (t - j));
          top = std::max(top, logits.back());
        }
        double sum = 0;
        for (double& l : logits) sum += (l = std::exp(l - top));
        for (int64_t c = 0; c < d; ++c) {
          double acc = 0;
          for (int64_t j = first; j <= t; ++j) {
            acc += logits[j - first] * values[(head * n + j) * d + c];
          }
          out[(t * h + head) * d + c] = static_cast<float>(acc / sum);
        }
      }
    }
    return out;
  }

  // Runs the kernel on a copy of the queries; returns the result.
  std::vector<float> Run(AttentionKernel kernel) const {
    std::vector<float> q = queries;
    WindowAttention(shape, slopes.data(),
                    {q.data(), keys_t.data(), ld, values.data()}, kernel);
    return q;
  }
};

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  float worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::fabs(got[i] - want[i]));
  }
  EXPECT_LT(worst, 2e-5f) << what;
}

std::vector<AttentionKernel> Kernels(int64_t head_dim) {
  std::vector<AttentionKernel> kernels = {AttentionKernel::kBlas};
  if (Avx512AttentionAvailable(head_dim)) {
    kernels.push_back(AttentionKernel::kAuto);
  } else {  // The serving default on this CPU is then the BLAS path.
    std::cerr << "no AVX-512 on this CPU: only the BLAS path is tested\n";
  }
  return kernels;
}

class WindowAttentionTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(2); }
};

TEST_F(WindowAttentionTest, MatchesThePlainComputation) {
  // The shipped shape (4 heads of 32, window 256) over blocks whose spans
  // start before, at and past key 0 and end in a short block.
  for (const auto& shape : std::vector<WindowAttentionShape>{
           {1000, 4, 32, 256},  // Many blocks, the last one short.
           {1, 4, 32, 256},     // One query, one key.
           {70, 4, 32, 256},    // Shorter than the window.
           {300, 2, 16, 40},    // A window shorter than a block.
           {257, 1, 64, 256},   // Four vectors a row.
           {200, 3, 48, 100}}) {
    const Case c(shape);
    const std::vector<float> want = c.Reference();
    for (AttentionKernel kernel : Kernels(shape.head_dim)) {
      ExpectNear(c.Run(kernel), want,
                 "tokens " + std::to_string(shape.tokens) + " head_dim " +
                     std::to_string(shape.head_dim) + " kernel " +
                     std::to_string(static_cast<int>(kernel)));
    }
  }
}

TEST_F(WindowAttentionTest, HeadDimsWithoutAnAvx512PathUseBlas) {
  EXPECT_FALSE(Avx512AttentionAvailable(20));
  const Case c({150, 2, 20, 64});
  ExpectNear(c.Run(AttentionKernel::kAuto), c.Reference(), "head_dim 20");
}

TEST_F(WindowAttentionTest, QueriesOnlySeeTheirWindow) {
  // Changing a key or value outside a query's window leaves its result
  // alone, and changing one inside changes it (causal and windowed).
  const WindowAttentionShape shape{400, 2, 32, 64};
  Case c(shape);
  const std::vector<float> before = c.Run(AttentionKernel::kAuto);
  const int64_t changed = 200;  // Seen by queries 200 .. 263.
  for (int64_t i = 0; i < shape.heads * shape.head_dim; ++i) {
    c.keys_t[i * c.ld + changed] += 3.0f;
  }
  const std::vector<float> after = c.Run(AttentionKernel::kAuto);
  const int64_t row = shape.heads * shape.head_dim;
  auto same = [&](int64_t t) {
    return std::equal(before.begin() + t * row, before.begin() + (t + 1) * row,
                      after.begin() + t * row);
  };
  EXPECT_TRUE(same(199));
  EXPECT_FALSE(same(200));
  EXPECT_FALSE(same(263));
  EXPECT_TRUE(same(264));
}

TEST_F(WindowAttentionTest, KeysRowLengthIsWholeLinesAndNotWholePages) {
  EXPECT_EQ(KeysRowLength(1), 16);
  EXPECT_EQ(KeysRowLength(34586), 34592);
  EXPECT_EQ(KeysRowLength(1024), 1040);
  EXPECT_EQ(KeysRowLength(2040), 2064);  // 2048 would be 2 pages a row.
}

}  // namespace
}  // namespace attnr::network

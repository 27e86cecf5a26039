// The LibTorch Llama decoder against transformers on the pinned SmolLM2
// GGUF (tests/vectors/make_llama_vectors.py): hidden states at six layers
// within a stated tolerance, the attention probabilities the read-out uses,
// greedy next tokens on a paragraph (>= 99% agreement), chunked prefill and
// passage caches equal to one pass; refusals that name what is wrong.
#include "model/llama/llama_decoder.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/pretrained_model_folder.h"

namespace attnr::llama {
namespace {

// The options of one Forward pass, in the order the tests name them.
ForwardOptions Pass(std::vector<const KvCache*> past, bool keep,
                    std::vector<int> hidden, std::vector<int> attention,
                    ForwardTrace* trace, int64_t chunk = 512) {
  ForwardOptions o;
  o.past = std::move(past);
  o.keep = keep;
  o.hidden_layers = std::move(hidden);
  o.attention_layers = std::move(attention);
  o.trace = trace;
  o.chunk = chunk;
  return o;
}

using ::testing::HasSubstr;

std::string GgufPath() {
  return PretrainedModelFolder("smollm2-135m-instruct-q4_1") +
         "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

// The same computation split differently (chunks, a cache, a padded batch)
// sums in another order: equal within a few float32 ulps of the value, which
// matters for the first token's outlier dimensions (hundreds in magnitude).
constexpr double kSplitAbs = 2e-4;
constexpr double kSplitRel = 4e-6;
double SplitTolerance(float want) {
  return kSplitAbs + kSplitRel * std::fabs(want);
}

const nlohmann::json& Vectors() {
  static const nlohmann::json* v = [] {
    std::ifstream in(std::string(std::getenv("ATTNR_SOURCE_DIR")) +
                     "/tests/vectors/llama_smollm2.json");
    return new nlohmann::json(nlohmann::json::parse(in));
  }();
  return *v;
}

class LlamaDecoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = LlamaDecoder::Load(GgufPath(), 2, 0, TestDevice());
    if (loaded.ok()) {
      decoder_ = loaded->release();
    } else {
      error_ = new std::string(loaded.status().ToString());
    }
  }
  void SetUp() override {
    ASSERT_NE(decoder_, nullptr)
        << (error_ ? *error_ : "") << " (run `make models` first)";
  }
  static LlamaDecoder* decoder_;
  static std::string* error_;
};
LlamaDecoder* LlamaDecoderTest::decoder_ = nullptr;
std::string* LlamaDecoderTest::error_ = nullptr;

TEST_F(LlamaDecoderTest, ReadsTheConfigFromMetadata) {
  const LlamaConfig& c = decoder_->config();
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.layers, 30);
  EXPECT_EQ(c.dim, 576);
  EXPECT_EQ(c.ffn_dim, 1536);
  EXPECT_EQ(c.heads, 9);
  EXPECT_EQ(c.kv_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.vocab, 49152);
  EXPECT_EQ(c.context, 8192);
  EXPECT_DOUBLE_EQ(c.rope_base, 100000.0);
  EXPECT_EQ(decoder_->name(), "SmolLM2-135M-Instruct.Q4_1");
  EXPECT_EQ(decoder_->sha256(),
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53");
}

TEST_F(LlamaDecoderTest, HiddenStatesAndAttentionMatchTransformers) {
  const nlohmann::json& v = Vectors();
  const std::vector<int32_t> ids = v["short_ids"];
  // The tokenizer gives the ids the reference read.
  std::vector<int32_t> ours;
  for (const auto& t :
       decoder_->tokenizer().Tokenize(v["short_text"].get<std::string>()))
    ours.push_back(t.id);
  ASSERT_EQ(ours, ids);

  std::vector<int> layers;
  for (const auto& [key, _] : v["layers"].items())
    layers.push_back(std::stoi(key));
  std::vector<int> attention_layers;
  for (int l : layers) {
    if (v["layers"][std::to_string(l)].contains("last_attention"))
      attention_layers.push_back(l);
  }
  ForwardTrace trace;
  ASSERT_TRUE(
      decoder_->Forward(ids, Pass({}, false, layers, attention_layers, &trace))
          .ok());
  const int64_t n = ids.size(), dim = 576;
  for (size_t a = 0; a < layers.size(); ++a) {
    SCOPED_TRACE(layers[a]);
    const auto& ref = v["layers"][std::to_string(layers[a])];
    const std::vector<float>& h = trace.hidden[a];
    // Whole last-position vector: cosine and relative error.
    const std::vector<double> last = ref["last"];
    double dot = 0, na = 0, nb = 0, err = 0;
    for (int64_t d = 0; d < dim; ++d) {
      const double x = h[(n - 1) * dim + d];
      dot += x * last[d];
      na += x * x;
      nb += last[d] * last[d];
      err = std::max(err, std::abs(x - last[d]));
    }
    EXPECT_GT(dot / std::sqrt(na * nb), 0.9999);
    // Every position: L2 norm within 0.1%, first 16 values within 1e-3 of
    // the position's scale.
    for (int64_t i = 0; i < n; ++i) {
      double norm = 0;
      for (int64_t d = 0; d < dim; ++d) norm += h[i * dim + d] * h[i * dim + d];
      norm = std::sqrt(norm);
      const double want = ref["norm"][i];
      EXPECT_NEAR(norm, want, 1e-3 * want) << "position " << i;
      for (int d = 0; d < 16; ++d) {
        EXPECT_NEAR(h[i * dim + d], ref["first16"][i][d].get<double>(),
                    1e-3 * want / std::sqrt(dim) * 10)
            << "position " << i << " dim " << d;
      }
    }
  }
  for (size_t a = 0; a < attention_layers.size(); ++a) {
    SCOPED_TRACE(attention_layers[a]);
    const auto& ref =
        v["layers"][std::to_string(attention_layers[a])]["last_attention"];
    for (int hd = 0; hd < 9; ++hd) {
      for (int64_t j = 0; j < n; ++j) {
        EXPECT_NEAR(trace.attention[a][(hd * n + (n - 1)) * n + j],
                    ref[hd][j].get<double>(), 1e-4)
            << "head " << hd << " key " << j;
      }
    }
  }
}

TEST_F(LlamaDecoderTest, GreedyNextTokensAgreeWithTransformers) {
  const nlohmann::json& v = Vectors();
  const std::vector<int32_t> ids = v["paragraph_ids"];
  absl::StatusOr<std::vector<int32_t>> next = decoder_->NextTokens(ids);
  ASSERT_TRUE(next.ok()) << next.status();
  const std::vector<int32_t> want = v["paragraph_next"];
  ASSERT_EQ(next->size(), want.size());
  size_t same = 0;
  for (size_t i = 0; i < want.size(); ++i) same += (*next)[i] == want[i];
  EXPECT_GE(static_cast<double>(same) / want.size(), 0.99)
      << same << " of " << want.size();
}

TEST_F(LlamaDecoderTest, ChunksAndCachesEqualOnePass) {
  const std::vector<int32_t> ids = Vectors()["short_ids"];
  ForwardTrace whole;
  ASSERT_TRUE(decoder_->Forward(ids, Pass({}, false, {12}, {12}, &whole)).ok());
  // The same tokens in chunks of 5.
  ForwardTrace chunked;
  ASSERT_TRUE(
      decoder_->Forward(ids, Pass({}, false, {12}, {12}, &chunked, 5)).ok());
  ASSERT_EQ(chunked.hidden[0].size(), whole.hidden[0].size());
  for (size_t i = 0; i < whole.hidden[0].size(); ++i) {
    ASSERT_NEAR(chunked.hidden[0][i], whole.hidden[0][i],
                SplitTolerance(whole.hidden[0][i]))
        << i;
  }
  // The first 30 tokens as a cache, the rest attending to it.
  const std::vector<int32_t> head(ids.begin(), ids.begin() + 30);
  const std::vector<int32_t> tail(ids.begin() + 30, ids.end());
  auto cache = decoder_->Forward(head, Pass({}, true, {}, {}, nullptr));
  ASSERT_TRUE(cache.ok() && *cache != nullptr);
  EXPECT_EQ((*cache)->tokens(), 30);
  EXPECT_EQ((*cache)->end_position(), 30);
  ForwardTrace rest;
  ASSERT_TRUE(
      decoder_->Forward(tail, Pass({cache->get()}, false, {12}, {12}, &rest))
          .ok());
  const int64_t n = ids.size(), dim = 576;
  for (size_t i = 0; i < tail.size() * dim; ++i) {
    ASSERT_NEAR(rest.hidden[0][i], whole.hidden[0][30 * dim + i],
                SplitTolerance(whole.hidden[0][30 * dim + i]))
        << i;
  }
  EXPECT_EQ(rest.keys, n);
  // The same head read in a batch beside a longer sequence (padding after
  // it) makes the same cache.
  std::vector<int32_t> other(ids.begin() + 2, ids.end());
  auto batch = decoder_->ForwardBatch({head, other}, 0, {});
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[0]->tokens(), 30);
  EXPECT_EQ((*batch)[1]->tokens(), static_cast<int64_t>(other.size()));
  ForwardTrace from_batch;
  ASSERT_TRUE(decoder_
                  ->Forward(tail, Pass({(*batch)[0].get()}, false, {12}, {},
                                       &from_batch))
                  .ok());
  for (size_t i = 0; i < tail.size() * dim; ++i) {
    ASSERT_NEAR(from_batch.hidden[0][i], whole.hidden[0][30 * dim + i],
                SplitTolerance(whole.hidden[0][30 * dim + i]))
        << i;
  }
  // Attention of the last token over all keys, cache first.
  for (int hd = 0; hd < 9; ++hd) {
    for (int64_t j = 0; j < n; ++j) {
      const int64_t t = tail.size();
      EXPECT_NEAR(rest.attention[0][(hd * t + t - 1) * n + j],
                  whole.attention[0][(hd * n + n - 1) * n + j], 1e-5);
    }
  }
}

TEST_F(LlamaDecoderTest, RefusesBadIdsAndLayers) {
  EXPECT_THAT(decoder_->Forward({1, 70000}, Pass({}, false, {}, {}, nullptr))
                  .status()
                  .message(),
              HasSubstr("token id 70000 at 1"));
  EXPECT_THAT(decoder_->Forward({1}, Pass({}, false, {31}, {}, nullptr))
                  .status()
                  .message(),
              HasSubstr("layer 31 is not loaded"));
  EXPECT_EQ(
      decoder_->Forward({}, Pass({}, false, {}, {}, nullptr)).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(LlamaDecoderLoadTest, LoadsOnlyTheLayersAskedAndRefusesOtherFiles) {
  auto partial = LlamaDecoder::Load(GgufPath(), 2, 4);
  ASSERT_TRUE(partial.ok()) << partial.status();
  EXPECT_EQ((*partial)->loaded_layers(), 4);
  EXPECT_EQ((*partial)->NextTokens({1, 2}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // The GGUF test file's architecture is llama but it has no tokenizer.
  auto tiny = LlamaDecoder::Load(std::string(std::getenv("ATTNR_SOURCE_DIR")) +
                                 "/tests/vectors/tiny.gguf");
  EXPECT_EQ(tiny.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tiny.status().message(), HasSubstr("tokenizer.ggml.model"));
  EXPECT_EQ(LlamaDecoder::Load("/nonexistent.gguf").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace attnr::llama

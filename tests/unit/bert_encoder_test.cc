// The BERT encoder against the model's own stack (transformers + the
// sentence-transformers pooling) on the committed vectors: the same token
// ids, embeddings with cosine >= 0.999 to the reference, one at a time and
// padded in a batch; and refusals that name what is wrong.
#include "model/bert/bert_encoder.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/pretrained_model_folder.h"

namespace attnr::bert {
namespace {

std::string ModelFolder() { return PretrainedModelFolder("all-minilm-l6-v2"); }

double Cosine(const float* a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / std::sqrt(na * nb);
}

class BertEncoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = BertEncoder::Load(ModelFolder(), 0, TestDevice());
    if (loaded.ok()) {
      encoder_ = loaded->release();
    } else {
      error_ = new std::string(loaded.status().ToString());
    }
  }
  void SetUp() override {
    ASSERT_NE(encoder_, nullptr)
        << (error_ ? *error_ : "") << " (run `make models` first)";
  }
  static BertEncoder* encoder_;
  static std::string* error_;
};
BertEncoder* BertEncoderTest::encoder_ = nullptr;
std::string* BertEncoderTest::error_ = nullptr;

TEST_F(BertEncoderTest, MatchesTheReferenceEmbeddings) {
  std::ifstream in(std::string(std::getenv("ATTNR_SOURCE_DIR")) +
                   "/tests/vectors/bert_all_minilm_l6_v2.json");
  const nlohmann::json vectors = nlohmann::json::parse(in);
  std::vector<std::vector<int32_t>> batch;
  std::vector<std::vector<float>> expected;
  for (const auto& c : vectors["cases"]) {
    std::vector<int32_t> ids;
    for (const auto& p :
         encoder_->tokenizer().Tokenize(c["text"].get<std::string>())) {
      ids.push_back(p.id);
    }
    std::vector<int32_t> reference = c["ids"].get<std::vector<int32_t>>();
    ASSERT_GE(reference.size(), 2u);
    EXPECT_EQ(ids,
              std::vector<int32_t>(reference.begin() + 1, reference.end() - 1))
        << c["text"];
    batch.push_back(ids);
    expected.push_back(c["embedding"].get<std::vector<float>>());
  }
  ASSERT_GE(batch.size(), 10u);
  const int64_t dim = encoder_->dim();
  ASSERT_EQ(dim, 384);
  // All together (padded to the longest) and each alone.
  auto together = encoder_->Embed(batch);
  ASSERT_TRUE(together.ok()) << together.status();
  double worst = 1.0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const double together_cos = Cosine(together->data() + i * dim, expected[i]);
    auto alone = encoder_->Embed({batch[i]});
    ASSERT_TRUE(alone.ok());
    const double alone_cos = Cosine(alone->data(), expected[i]);
    EXPECT_GE(together_cos, 0.999) << i;
    EXPECT_GE(alone_cos, 0.999) << i;
    worst = std::min({worst, together_cos, alone_cos});
  }
  std::printf("worst cosine to the reference: %.7f\n", worst);
}

TEST_F(BertEncoderTest, RanksTheAnswerAboveUnrelatedText) {
  auto ids = [&](const std::string& text) {
    std::vector<int32_t> out;
    for (const auto& p : encoder_->tokenizer().Tokenize(text))
      out.push_back(p.id);
    return out;
  };
  auto e =
      encoder_->Embed({ids("How do I undo my last commit?"),
                       ids("Use git revert to reverse a published change."),
                       ids("The garden has roses and tulips.")});
  ASSERT_TRUE(e.ok()) << e.status();
  const std::vector<float> query(e->begin(), e->begin() + 384);
  EXPECT_GT(Cosine(e->data() + 384, query), Cosine(e->data() + 768, query));
}

TEST_F(BertEncoderTest, ASequenceOverTheLimitIsRefusedNotTruncated) {
  std::vector<int32_t> long_ids(encoder_->max_tokens() + 1, 2000);
  auto e = encoder_->Embed({{2000, 2001}, long_ids});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(),
              ::testing::HasSubstr("sequence 1 has 255 tokens, over the "
                                   "encoder's 254"));
}

TEST_F(BertEncoderTest, AStoppedCallReturnsItsStatusInsteadOfEmbeddings) {
  std::atomic<bool> cancelled{true};
  auto e = encoder_->Embed({{2000, 2001}},
                           StopSignal(absl::InfiniteFuture(), &cancelled));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(e.status().message(), ::testing::HasSubstr("dense encode"));
  auto late = encoder_->Embed({{2000, 2001}},
                              StopSignal(absl::Now() - absl::Seconds(1)));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  cancelled = false;
  EXPECT_TRUE(encoder_
                  ->Embed({{2000, 2001}},
                          StopSignal(absl::InfiniteFuture(), &cancelled))
                  .ok());
}

TEST(BertEncoderLoadTest, RefusesWhatItCannotRun) {
  EXPECT_EQ(BertEncoder::Load("/nonexistent").status().code(),
            absl::StatusCode::kNotFound);
  const std::string dir = std::string(::testing::TempDir()) + "/gpt2-like";
  std::system(("mkdir -p " + dir).c_str());
  std::ofstream(dir + "/config.json") << R"({"model_type": "gpt2"})";
  auto gpt2 = BertEncoder::Load(dir);
  EXPECT_EQ(gpt2.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(gpt2.status().message(), ::testing::HasSubstr("gpt2"));
}

}  // namespace
}  // namespace attnr::bert

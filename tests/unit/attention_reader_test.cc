// The LLM attention reader on the pinned SmolLM2 decoder: masses are
// attention probabilities (in [0, 1], the last token's summing to at most
// one over the passages), passages read separately are attended to the
// same whatever their order (each keeps its own positions), and a cached
// passage gives what a fresh read gives. The read-out file: round trip,
// and refusals of damaged or mis-shaped files.
#include "model/views/llm/attention_reader.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/views/llm/attention_readout_file.h"
#include "tests/unit/pretrained_model_folder.h"

namespace attnr::views {
namespace {

using ::testing::HasSubstr;

std::string GgufPath() {
  return PretrainedModelFolder("smollm2-135m-instruct-q4_1") +
         "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

class AttentionReaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = llama::LlamaDecoder::Load(GgufPath(), 2, 8, TestDevice());
    if (!loaded.ok()) return;
    decoder_ = loaded->release();
    auto reader = AttentionReader::Create(decoder_, {2, 8, 5});
    if (reader.ok()) reader_ = reader->release();
  }
  void SetUp() override {
    ASSERT_NE(reader_, nullptr) << GgufPath() << " (run `make models` first)";
  }
  static llama::LlamaDecoder* decoder_;
  static AttentionReader* reader_;
};
llama::LlamaDecoder* AttentionReaderTest::decoder_ = nullptr;
AttentionReader* AttentionReaderTest::reader_ = nullptr;

const char kA[] = "The espresso grinder must be descaled every fourteen days.";
const char kB[] = "Visitors may use the library on weekdays until six.";
const char kQuery[] = "How often is the grinder descaled?";

TEST_F(AttentionReaderTest, MassesAreProbabilitiesInvariantToPassageOrder) {
  EXPECT_EQ(reader_->layers(), (std::vector<int>{2, 5, 8}));
  EXPECT_EQ(reader_->features(), 2u * 3 * 9);
  auto a = reader_->ReadPassage(reader_->PassageIds(kA));
  auto b = reader_->ReadPassage(reader_->PassageIds(kB));
  ASSERT_TRUE(a.ok() && b.ok());
  int64_t query_tokens = 0;
  auto ab = reader_->Attend({a->get(), b->get()}, kQuery, &query_tokens);
  auto ba = reader_->Attend({b->get(), a->get()}, kQuery);
  ASSERT_TRUE(ab.ok() && ba.ok());
  EXPECT_GT(query_tokens, 8);
  ASSERT_EQ(ab->size(), 2u);
  for (size_t f = 0; f < reader_->features(); ++f) {
    EXPECT_NEAR((*ab)[0][f], (*ba)[1][f], 1e-5) << f;
    EXPECT_NEAR((*ab)[1][f], (*ba)[0][f], 1e-5) << f;
    for (int p = 0; p < 2; ++p) {
      EXPECT_GE((*ab)[p][f], 0.0f);
      EXPECT_LE((*ab)[p][f], 1.0f);
    }
  }
  // The last token's attention over everything sums to one: over the two
  // passages at most that, and not nothing.
  const size_t last_group = reader_->features() / 2;
  for (size_t f = last_group; f < reader_->features(); ++f) {
    const float total = (*ab)[0][f] + (*ab)[1][f];
    EXPECT_LE(total, 1.0f + 1e-5f);
    EXPECT_GT(total, 0.0f);
  }
}

TEST_F(AttentionReaderTest, ACachedPassageReadsLikeAFreshOne) {
  auto a1 = reader_->ReadPassage(reader_->PassageIds(kA));
  auto a2 = reader_->ReadPassage(reader_->PassageIds(kA));
  auto b = reader_->ReadPassage(reader_->PassageIds(kB));
  ASSERT_TRUE(a1.ok() && a2.ok() && b.ok());
  EXPECT_EQ((*a1)->tokens(),
            static_cast<int64_t>(reader_->PassageIds(kA).size()));
  auto first = reader_->Attend({a1->get(), b->get()}, kQuery);
  auto second = reader_->Attend({a2->get(), b->get()}, kQuery);
  ASSERT_TRUE(first.ok() && second.ok());
  for (size_t f = 0; f < reader_->features(); ++f) {
    EXPECT_FLOAT_EQ((*first)[0][f], (*second)[0][f]);
  }
}

TEST_F(AttentionReaderTest, RefusesLayersNotLoaded) {
  auto bad = AttentionReader::Create(decoder_, {9});
  EXPECT_THAT(bad.status().message(), HasSubstr("layer 9 is not loaded"));
  ReaderPrompt prompt;
  prompt.prefix = "<|no_such_token|>";
  EXPECT_THAT(AttentionReader::Create(decoder_, {2}, prompt).status().message(),
              HasSubstr("<|no_such_token|>"));
}

AttentionReadout SmallReadout() {
  AttentionReadout r;
  r.model_sha256 = "abc";
  r.model_name = "m";
  r.layers = {3, 4};
  r.heads = 2;
  r.mean = {0.1f, -0.2f, 0.3f, 0.4f, -1.5f, 2.5f, 0.0f, 1.0f};
  r.std = {1, 2, 3, 4, 5, 6, 7, 8};
  r.weights = {0.5f, -0.25f, 1, 0, 2, -1, 0.125f, 3};
  r.length_weight = -0.5f;
  return r;
}

TEST(AttentionReadoutFileTest, RoundTripsAndScores) {
  const std::string path = ::testing::TempDir() + "/readout.json";
  const AttentionReadout r = SmallReadout();
  ASSERT_TRUE(WriteAttentionReadout(r, path).ok());
  absl::StatusOr<AttentionReadout> back = ReadAttentionReadout(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->layers, r.layers);
  EXPECT_EQ(back->weights, r.weights);
  EXPECT_EQ(back->PayloadSha256(), r.PayloadSha256());
  EXPECT_EQ(back->prompt.after_query, ReaderPrompt().after_query);
  const std::vector<float> masses = {0.5f, 0.25f, 0.1f,  0.2f,
                                     0.3f, 0.4f,  0.05f, 0.6f};
  double want = -0.5 * std::log(40.0);
  for (size_t f = 0; f < masses.size(); ++f) {
    want += r.weights[f] * (std::log(masses[f] + r.eps) - r.mean[f]) / r.std[f];
  }
  EXPECT_NEAR(back->Score(masses, 40), want, 1e-5);
}

TEST(AttentionReadoutFileTest, RefusesDamagedAndMisShapedFiles) {
  const std::string path = ::testing::TempDir() + "/readout_bad.json";
  AttentionReadout r = SmallReadout();
  ASSERT_TRUE(WriteAttentionReadout(r, path).ok());
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // An edited weight: the payload digest no longer matches.
  const size_t at = text.find("0.125");
  ASSERT_NE(at, std::string::npos);
  std::string edited = text;
  edited.replace(at, 5, "0.375");
  std::ofstream(path) << edited;
  absl::Status s = ReadAttentionReadout(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("payload_sha256"));
  // Too few weights for the shape.
  r.weights.pop_back();
  ASSERT_TRUE(WriteAttentionReadout(r, path).ok());
  EXPECT_THAT(ReadAttentionReadout(path).status().message(),
              HasSubstr("weights has 7 values, 8 expected"));
  std::ofstream(path) << "not json";
  EXPECT_EQ(ReadAttentionReadout(path).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadAttentionReadout("/nonexistent.json").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace attnr::views

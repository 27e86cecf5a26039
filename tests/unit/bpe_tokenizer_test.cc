// Byte-level BPE from the pinned SmolLM2 GGUF against llama.cpp
// (tests/vectors/make_bpe_vectors.py): identical token ids on 63 varied
// texts, each token's range holding exactly its bytes; refusals that name
// what is unsupported.
#include "model/tokenizers/bpe_tokenizer.h"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/text/utf8.h"
#include "tests/unit/pretrained_model_folder.h"

namespace attnr::tokenizers {
namespace {

using ::testing::HasSubstr;

std::string GgufPath() {
  return PretrainedModelFolder("smollm2-135m-instruct-q4_1") +
         "/SmolLM2-135M-Instruct.Q4_1.gguf";
}

std::string FromHex(const std::string& hex) {
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

class BpeTokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto file = formats::GgufFile::Open(GgufPath());
    absl::StatusOr<BpeTokenizer> loaded =
        file.ok() ? BpeTokenizer::FromGguf(**file)
                  : absl::StatusOr<BpeTokenizer>(file.status());
    if (loaded.ok()) {
      tokenizer_ = new BpeTokenizer(*std::move(loaded));
    } else {
      error_ = new std::string(loaded.status().ToString());
    }
  }
  void SetUp() override {
    ASSERT_NE(tokenizer_, nullptr)
        << (error_ ? *error_ : "") << " (run `make models` first)";
  }
  static BpeTokenizer* tokenizer_;
  static std::string* error_;
};
BpeTokenizer* BpeTokenizerTest::tokenizer_ = nullptr;
std::string* BpeTokenizerTest::error_ = nullptr;

TEST_F(BpeTokenizerTest, IdsAndBytesMatchLlamaCpp) {
  std::ifstream in(std::string(std::getenv("ATTNR_SOURCE_DIR")) +
                   "/tests/vectors/bpe_smollm2.json");
  const nlohmann::json vectors = nlohmann::json::parse(in);
  ASSERT_GE(vectors["cases"].size(), 50u);
  for (const auto& c : vectors["cases"]) {
    const std::string text = c["text"];
    SCOPED_TRACE(text.substr(0, 80));
    const std::vector<BpeToken> tokens = tokenizer_->Tokenize(text);
    std::vector<int32_t> ids;
    for (const BpeToken& t : tokens) ids.push_back(t.id);
    EXPECT_EQ(ids, c["ids"].get<std::vector<int32_t>>());
    if (ids.size() != c["ids"].size()) continue;
    uint32_t expected_begin = 0;
    for (size_t k = 0; k < tokens.size(); ++k) {
      const text::TextSpan& s = tokens[k].span;
      // Exact byte ranges holding the reference's bytes, contiguous but for
      // control bytes the vocabulary has no symbol for (no token, as in
      // llama.cpp).
      EXPECT_GE(s.begin_byte, expected_begin);
      for (uint32_t g = expected_begin; g < s.begin_byte; ++g) {
        EXPECT_LT(static_cast<uint8_t>(text[g]), 0x20);
      }
      EXPECT_EQ(text.substr(s.begin_byte, s.byte_length()),
                FromHex(c["bytes_hex"][k]));
      EXPECT_EQ(tokenizer_->Bytes(tokens[k].id), FromHex(c["bytes_hex"][k]));
      expected_begin = s.end_byte;
      // Code points: the characters the token's bytes touch.
      const uint32_t before = static_cast<uint32_t>(
          text::CountCodePoints(text.substr(0, s.begin_byte)));
      EXPECT_TRUE(s.begin_char == before || s.begin_char + 1 == before);
      EXPECT_LE(s.begin_char, s.end_char - 1);
    }
    EXPECT_EQ(expected_begin, text.size());
  }
}

TEST_F(BpeTokenizerTest, ControlTokensAreNotParsedFromText) {
  const std::vector<BpeToken> tokens = tokenizer_->Tokenize("<|im_start|>user");
  ASSERT_FALSE(tokens.empty());
  for (const BpeToken& t : tokens) {
    EXPECT_NE(t.id, tokenizer_->IdOf("<|im_start|>"));
  }
  EXPECT_EQ(tokenizer_->IdOf("<|im_start|>"), 1);
  EXPECT_EQ(tokenizer_->IdOf("<|im_end|>"), 2);
  EXPECT_EQ(tokenizer_->vocab_size(), 49152u);
  EXPECT_EQ(tokenizer_->pre(), "smollm");
}

TEST_F(BpeTokenizerTest, SplitCharacterBelongsToBothTokens) {
  // "日" is three bytes that SmolLM2's vocabulary splits: byte ranges stay
  // exact and adjacent, code points cover the character in each.
  const std::string text = " 日本";
  const std::vector<BpeToken> tokens = tokenizer_->Tokenize(text);
  ASSERT_GE(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].span.begin_byte, 0u);
  EXPECT_EQ(tokens[1].span.begin_byte, tokens[0].span.end_byte);
  EXPECT_EQ(tokens[0].span.end_char, 2u);
  EXPECT_EQ(tokens[1].span.begin_char, 1u);
  EXPECT_EQ(tokens.back().span.end_byte, text.size());
  EXPECT_EQ(tokens.back().span.end_char, 3u);
}

TEST(BpeTokenizerLoadTest, RefusesWhatIsNotByteLevelBpe) {
  // The GGUF test file has no tokenizer: the missing key is named.
  auto file =
      formats::GgufFile::Open(std::string(std::getenv("ATTNR_SOURCE_DIR")) +
                              "/tests/vectors/tiny.gguf");
  ASSERT_TRUE(file.ok()) << file.status();
  absl::Status s = BpeTokenizer::FromGguf(**file).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("tokenizer.ggml.model"));
}

}  // namespace
}  // namespace attnr::tokenizers

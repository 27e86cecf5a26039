// The WordPiece tokenizer against the model's own (Hugging Face
// `tokenizers`) on the committed vectors: same ids, same pieces, same
// code-point offsets, and byte offsets that slice the same text.
#include "model/tokenizers/wordpiece_tokenizer.h"

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

std::string ModelFolder() { return PretrainedModelFolder("all-minilm-l6-v2"); }

nlohmann::json Vectors() {
  std::ifstream in(std::string(std::getenv("ATTNR_SOURCE_DIR")) +
                   "/tests/vectors/wordpiece_all_minilm_l6_v2.json");
  return nlohmann::json::parse(in);
}

TEST(WordPieceTokenizerTest, MatchesTheReferenceOnEveryVector) {
  auto tokenizer = WordPieceTokenizer::Load(ModelFolder() + "/tokenizer.json");
  ASSERT_TRUE(tokenizer.ok())
      << tokenizer.status() << " (run `make models` first)";
  EXPECT_EQ(tokenizer->vocab_size(), 30522u);
  const nlohmann::json vectors = Vectors();
  ASSERT_GE(vectors["cases"].size(), 50u);
  int matched = 0;
  for (const auto& c : vectors["cases"]) {
    const std::string text = c["text"];
    const std::vector<WordPiece> pieces = tokenizer->Tokenize(text);
    std::vector<int32_t> ids;
    std::vector<std::string> tokens;
    std::vector<std::vector<uint32_t>> offsets;
    const text::Utf8Index index(text);
    for (const WordPiece& p : pieces) {
      ids.push_back(p.id);
      tokens.push_back(tokenizer->TokenOf(p.id));
      offsets.push_back({p.span.begin_char, p.span.end_char});
      // Bytes and code points name the same range.
      EXPECT_EQ(index.CharAt(p.span.begin_byte), p.span.begin_char);
      EXPECT_EQ(index.CharAt(p.span.end_byte), p.span.end_char);
    }
    EXPECT_EQ(ids, c["ids"].get<std::vector<int32_t>>()) << text;
    EXPECT_EQ(tokens, c["tokens"].get<std::vector<std::string>>()) << text;
    EXPECT_EQ(offsets, c["offsets"].get<std::vector<std::vector<uint32_t>>>())
        << text;
    matched += ids == c["ids"].get<std::vector<int32_t>>();
  }
  std::printf("%d of %zu texts give the reference's ids\n", matched,
              vectors["cases"].size());
}

TEST(WordPieceTokenizerTest, RefusesATokenizerThatIsNotBertWordPiece) {
  const std::string path = std::string(::testing::TempDir()) + "/bpe.json";
  std::ofstream(path) << R"({"normalizer": null, "pre_tokenizer":
      {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {}}})";
  auto t = WordPieceTokenizer::Load(path);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), ::testing::HasSubstr("BertNormalizer"));
  EXPECT_EQ(
      WordPieceTokenizer::Load("/nonexistent/tokenizer.json").status().code(),
      absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace attnr::tokenizers

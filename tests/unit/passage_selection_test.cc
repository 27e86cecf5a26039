#include "model/ranges/passage_selection.h"

#include <vector>

#include "gtest/gtest.h"
#include "model/ranges/context_range.h"
#include "model/text/analyzed_document.h"
#include "model/text/passage_builder.h"

namespace attnr::ranges {
namespace {

// Five short paragraphs; with 12-token passages each is its own passage.
const char kText[] =
    "Debian keeps its packages in archives called suites.\n\n"
    "The stable suite gets only security and serious fixes.\n\n"
    "Testing receives packages after they spent days in unstable.\n\n"
    "Unstable is where new uploads arrive first of all.\n\n"
    "Experimental holds packages that are not ready for unstable.\n";

class PassageSelectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto doc = text::AnalyzeDocument(kText, {});
    ASSERT_TRUE(doc.ok()) << doc.status();
    doc_ = *std::move(doc);
    text::PassageOptions options;
    options.max_tokens = 12;
    // Two documents with the same text: units 0-4 and 5-9.
    passages_ = {text::BuildPassages(doc_, options),
                 text::BuildPassages(doc_, options)};
    ASSERT_EQ(passages_[0].size(), 5u);
  }
  std::vector<ScoreDetail> Details(const std::vector<double>& fused) {
    std::vector<ScoreDetail> out(fused.size());
    for (size_t u = 0; u < fused.size(); ++u) out[u].fused = fused[u];
    return out;
  }
  text::AnalyzedDocument doc_;
  std::vector<std::vector<text::PassageBounds>> passages_;
};

TEST_F(PassageSelectionTest, BestFirstAcrossDocumentsWithoutTheEvidenceless) {
  auto details = Details({0, 0.2, 0, 0, 0, 0, 0, 0, 0.9, 0});
  SelectionParams params;
  params.top_k = 5;
  const std::vector<RetrievedPassage> out =
      SelectPassages(passages_, &details, params);
  // Passages with fused score 0 are never returned: 2 of top_k 5.
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].document_index, 1u);
  EXPECT_EQ(out[0].span.begin_byte, passages_[1][3].span.begin_byte);
  EXPECT_DOUBLE_EQ(out[0].detail.fused, 0.9);
  EXPECT_EQ(out[1].document_index, 0u);
  EXPECT_EQ(out[1].span.begin_byte, passages_[0][1].span.begin_byte);
}

TEST_F(PassageSelectionTest, TiesKeepDocumentOrderAndTopKCuts) {
  auto details = Details({0.5, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0, 0});
  SelectionParams params;
  params.top_k = 3;
  const std::vector<RetrievedPassage> out =
      SelectPassages(passages_, &details, params);
  ASSERT_EQ(out.size(), 3u);
  for (uint32_t r = 0; r < 3; ++r) {
    EXPECT_EQ(out[r].span.begin_byte, passages_[0][r].span.begin_byte);
  }
}

TEST_F(PassageSelectionTest, GrownRangeAbsorbsItsBestRankedNeighbour) {
  auto details = Details({0, 0.8, 0.9, 0, 0.1, 0, 0, 0, 0, 0});
  SelectionParams params;
  params.top_k = 5;
  params.grow_ranges = true;
  const std::vector<RetrievedPassage> out =
      SelectPassages(passages_, &details, params);
  // Passage 2 grows over passage 1 (the second best), which is then not
  // returned on its own; passage 4 is outside the rank window.
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].span.begin_byte, passages_[0][1].span.begin_byte);
  EXPECT_EQ(out[0].span.end_byte, passages_[0][2].span.end_byte);
  EXPECT_EQ(out[1].span.begin_byte, passages_[0][4].span.begin_byte);
}

TEST(ContextRangeTest, ResolvesCodePointsToBytesAndTokens) {
  // "é" is two bytes: code point 6 is byte 7.
  auto doc = text::AnalyzeDocument("Caf\xc3\xa9 au lait, tea.", {});
  ASSERT_TRUE(doc.ok());
  ScoreInput in;
  in.kind = ScoreInput::Kind::kCharRange;
  in.start = 5;
  in.end = 12;
  auto range = ResolveContextRange(in, *doc);
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->span.begin_byte, 6u);
  EXPECT_EQ(range->span.end_byte, 13u);
  // "au" and "lait" lie wholly inside.
  EXPECT_EQ(range->token_end - range->token_begin, 2u);
}

TEST(ContextRangeTest, ByteOffsetInsideACharacterIsRefusedNamingTheOffset) {
  auto doc = text::AnalyzeDocument("Caf\xc3\xa9 au lait.", {});
  ASSERT_TRUE(doc.ok());
  ScoreInput in;
  in.kind = ScoreInput::Kind::kByteRange;
  in.start = 4;  // Between the two bytes of "é".
  in.end = 8;
  auto range = ResolveContextRange(in, *doc);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(range.status().message(),
            "byte offset 4 falls inside a UTF-8 character of the context");
  in.start = 8;
  in.end = 4;
  range = ResolveContextRange(in, *doc);
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("is not a range within the 14 bytes"),
            absl::string_view::npos)
      << range.status();
}

}  // namespace
}  // namespace attnr::ranges

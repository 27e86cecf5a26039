#include "model/ranges/range_growth.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
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

std::vector<text::PassageBounds> Passages(const text::AnalyzedDocument& doc,
                                          uint32_t max_tokens = 12) {
  text::PassageOptions options;
  options.max_tokens = max_tokens;
  return text::BuildPassages(doc, options);
}

class RangeGrowthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto doc = text::AnalyzeDocument(kText, {});
    ASSERT_TRUE(doc.ok()) << doc.status();
    doc_ = *std::move(doc);
    passages_ = Passages(doc_);
    ASSERT_EQ(passages_.size(), 5u);
  }
  text::AnalyzedDocument doc_;
  std::vector<text::PassageBounds> passages_;
};

TEST_F(RangeGrowthTest, GrowsOverEligibleNeighboursOnBothSides) {
  GrowthOptions options;
  options.max_growth = 3.0;
  const std::vector<bool> eligible = {false, true, false, true, false};
  EXPECT_EQ(GrowRange(passages_, 2, eligible, options), std::make_pair(1u, 3u));
}

TEST_F(RangeGrowthTest, StopsAtANeighbourThatIsNotEligible) {
  GrowthOptions options;
  options.max_growth = 10.0;
  // Passage 0 is eligible but reachable only through passage 1, which is
  // not: a range stays contiguous.
  const std::vector<bool> eligible = {true, false, false, true, false};
  EXPECT_EQ(GrowRange(passages_, 2, eligible, options), std::make_pair(2u, 3u));
}

TEST_F(RangeGrowthTest, GrowthIsBoundedByTheSeedsSize) {
  const std::vector<bool> all(5, true);
  GrowthOptions options;
  options.max_growth = 0.5;  // Less than any neighbour: no growth.
  EXPECT_EQ(GrowRange(passages_, 2, all, options), std::make_pair(2u, 2u));
  options.max_growth = 1.5;  // Room for one neighbour, the next one first.
  EXPECT_EQ(GrowRange(passages_, 2, all, options), std::make_pair(2u, 3u));
}

TEST_F(RangeGrowthTest, GrowthIsBoundedByTokens) {
  const std::vector<bool> all(5, true);
  GrowthOptions options;
  options.max_growth = 100.0;
  options.max_tokens = passages_[0].token_end - passages_[0].token_begin +
                       passages_[1].token_end - passages_[1].token_begin;
  const auto [lo, hi] = GrowRange(passages_, 0, all, options);
  EXPECT_EQ(lo, 0u);
  EXPECT_EQ(hi, 1u);
  EXPECT_LE(passages_[hi].token_end - passages_[lo].token_begin,
            options.max_tokens);
  // Without the cap the first passage reaches the end of the document.
  options.max_tokens = 0;
  EXPECT_EQ(GrowRange(passages_, 0, all, options), std::make_pair(0u, 4u));
}

TEST_F(RangeGrowthTest, EdgesOfTheDocumentAreSafe) {
  const std::vector<bool> all(5, true);
  GrowthOptions options;
  options.max_growth = 1.5;
  EXPECT_EQ(GrowRange(passages_, 4, all, options), std::make_pair(3u, 4u));
  EXPECT_EQ(GrowRange(passages_, 0, all, options), std::make_pair(0u, 1u));
}

}  // namespace
}  // namespace attnr::ranges

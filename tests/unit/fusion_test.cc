#include "model/views/fusion.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::views {
namespace {

using ::testing::ElementsAre;

std::vector<ScoreDetail> Details(
    const std::vector<std::vector<std::pair<ViewKind, double>>>& units) {
  std::vector<ScoreDetail> out;
  for (const auto& unit : units) {
    ScoreDetail d;
    for (const auto& [view, score] : unit) d.views.push_back({view, score, {}});
    out.push_back(d);
  }
  return out;
}

TEST(FusionTest, OneViewRanksByItsOwnScore) {
  auto d = Details({{{ViewKind::kDense, 0.7}}, {{ViewKind::kDense, 0.9}}});
  Fuse({ViewKind::kDense}, {}, &d);
  EXPECT_DOUBLE_EQ(d[0].fused, 0.7);
  EXPECT_DOUBLE_EQ(d[1].fused, 0.9);
  EXPECT_THAT(FusedOrder(d), ElementsAre(1, 0));
}

TEST(FusionTest, ReciprocalRanksAreWeighted) {
  const ViewKind L = ViewKind::kLexical, D = ViewKind::kDense;
  // Lexical ranks 0, 2, 1; dense ranks 1, 0, 2.
  auto d = Details(
      {{{L, 5.0}, {D, 0.8}}, {{L, 0.5}, {D, 0.9}}, {{L, 1.0}, {D, 0.6}}});
  Fuse({L, D}, {{D, 3.0}}, &d);
  EXPECT_DOUBLE_EQ(d[0].fused, 1.0 / 61 + 3.0 / 62);
  EXPECT_DOUBLE_EQ(d[1].fused, 1.0 / 63 + 3.0 / 61);
  EXPECT_DOUBLE_EQ(d[2].fused, 1.0 / 62 + 3.0 / 63);
  EXPECT_THAT(FusedOrder(d), ElementsAre(1, 0, 2));
  // With the dense view weighing nothing, lexical alone decides.
  Fuse({L, D}, {{D, 0.0}}, &d);
  EXPECT_THAT(FusedOrder(d), ElementsAre(0, 2, 1));
}

TEST(FusionTest, AZeroScoreGetsNothingFromItsView) {
  const ViewKind L = ViewKind::kLexical, D = ViewKind::kDense;
  auto d = Details({{{L, 0.0}, {D, 0.9}}, {{L, 0.0}, {D, 0.0}}});
  Fuse({L, D}, {}, &d);
  EXPECT_DOUBLE_EQ(d[0].fused, 1.0 / 61);
  EXPECT_EQ(d[1].fused, 0.0);
}

TEST(FusionTest, ScoreOfAViewNotUsedIsZero) {
  auto d = Details({{{ViewKind::kLexical, 2.0}}});
  EXPECT_EQ(d[0].ScoreOf(ViewKind::kLlm), 0.0);
  EXPECT_TRUE(d[0].ReasonsOf(ViewKind::kLlm).empty());
}

}  // namespace
}  // namespace attnr::views

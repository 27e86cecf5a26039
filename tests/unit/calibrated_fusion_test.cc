#include "model/views/calibrated_fusion.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::views {
namespace {

using ::testing::HasSubstr;

std::string Source(const std::string& path) {
  return std::string(std::getenv("ATTNR_SOURCE_DIR")) + "/" + path;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The shipped config's views.fusion.model and model_sha256.
std::pair<std::string, std::string> ShippedPin() {
  const std::string config = Read(Source("config/server.textproto"));
  std::smatch path, sha;
  std::regex_search(config, path,
                    std::regex("fusion \\{[^}]*model: \"([^\"]+)\""));
  std::regex_search(config, sha,
                    std::regex("fusion \\{[^}]*model_sha256: \"([0-9a-f]+)\""));
  return {Source("config/") + path[1].str(), sha[1].str()};
}

// The shipped parameters load under the digest the config pins (what
// bench/cv_fusion.py wrote), and reproduce the probabilities the fitting
// code computed for real questions' passages (tests/vectors/).
TEST(CalibratedFusionTest, ShippedModelMatchesItsPinAndTheFittingCode) {
  const auto [path, sha256] = ShippedPin();
  ASSERT_FALSE(sha256.empty());
  auto fusion = CalibratedFusion::Load(path, sha256);
  ASSERT_TRUE(fusion.ok()) << fusion.status();
  const auto vectors = nlohmann::json::parse(
      Read(Source("tests/vectors/calibrated_fusion.json")));
  ASSERT_GE(vectors["questions"].size(), 3u);
  int budgeted = 0;
  for (const auto& q : vectors["questions"]) {
    std::vector<ScoreDetail> details;
    // Budgeted questions say which passages each view judged.
    const bool has_judged = q.contains("judged");
    budgeted += has_judged;
    for (size_t i = 0; i < q["view_scores"].size(); ++i) {
      const auto& scores = q["view_scores"][i];
      ScoreDetail d;
      for (size_t v = 0; v < fusion->views().size(); ++v) {
        d.views.push_back({fusion->views()[v],
                           scores[v].get<double>(),
                           {},
                           !has_judged || q["judged"][i][v].get<int>() != 0});
      }
      details.push_back(d);
    }
    fusion->Fuse(&details);
    const auto& expected = q["probabilities"];
    ASSERT_EQ(expected.size(), details.size());
    for (size_t i = 0; i < details.size(); ++i) {
      EXPECT_NEAR(details[i].fused, expected[i].get<double>(), 1e-9)
          << q["query"] << " passage " << i;
    }
  }
  EXPECT_GE(budgeted, 1);
}

TEST(CalibratedFusionTest, ADifferentFileOrDigestIsRefused) {
  const auto [path, sha256] = ShippedPin();
  auto wrong = CalibratedFusion::Load(path, std::string(64, '0'));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(wrong.status().message(), HasSubstr("views.fusion.model_sha256"));
  const std::string bad = ::testing::TempDir() + "/bad_fusion.json";
  std::ofstream(bad) << R"({"method": "convex", "normalization": "z",
                           "views": ["lexical", "dense"], "weights": [1],
                           "calibration": {"slope": 1, "intercept": 0}})";
  auto malformed = CalibratedFusion::Load(bad, "");
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(malformed.status().message(), HasSubstr("weights"));
}

// The calibrated probability keeps the convex combination's order, and a
// view whose scores are all equal adds nothing.
TEST(CalibratedFusionTest, ProbabilitiesFollowTheCombination) {
  const std::string path = ::testing::TempDir() + "/fusion.json";
  std::ofstream(path) << R"({"method": "convex", "normalization": "minmax",
                             "views": ["lexical", "dense"], "weights": [0.5, 0.5],
                             "calibration": {"slope": 4, "intercept": -2}})";
  auto fusion = CalibratedFusion::Load(path, "");
  ASSERT_TRUE(fusion.ok()) << fusion.status();
  std::vector<ScoreDetail> d(3);
  const double lexical[] = {0, 2, 4}, dense[] = {0.7, 0.7, 0.7};
  for (int i = 0; i < 3; ++i) {
    d[i].views = {{ViewKind::kLexical, lexical[i], {}},
                  {ViewKind::kDense, dense[i], {}}};
  }
  fusion->Fuse(&d);
  // min-max lexical 0, 0.5, 1; dense constant (0): logits -2, -1, 0.
  EXPECT_NEAR(d[0].fused, 1 / (1 + std::exp(2.0)), 1e-12);
  EXPECT_NEAR(d[1].fused, 1 / (1 + std::exp(1.0)), 1e-12);
  EXPECT_NEAR(d[2].fused, 0.5, 1e-12);
  EXPECT_EQ(fusion->Describe(), "convex min-max lexical 0.5 + dense 0.5");
  // Without a score_calibration, candidates use the passages' one.
  std::vector<ScoreDetail> same = d;
  fusion->Fuse(&same, CalibratedFusion::Units::kCandidates);
  EXPECT_NEAR(same[2].fused, 0.5, 1e-12);
}

// Candidates a caller sends (Score, /v1/rerank) have their own calibration.
TEST(CalibratedFusionTest, CandidatesHaveTheirOwnCalibration) {
  const std::string path = ::testing::TempDir() + "/fusion2.json";
  std::ofstream(path) << R"({"method": "convex", "normalization": "minmax",
                             "views": ["lexical", "dense"], "weights": [1, 0],
                             "calibration": {"slope": 1, "intercept": -3},
                             "score_calibration": {"slope": 6, "intercept": -3}})";
  auto fusion = CalibratedFusion::Load(path, "");
  ASSERT_TRUE(fusion.ok()) << fusion.status();
  std::vector<ScoreDetail> d(2);
  d[0].views = {{ViewKind::kLexical, 0.0, {}}, {ViewKind::kDense, 0.5, {}}};
  d[1].views = {{ViewKind::kLexical, 3.0, {}}, {ViewKind::kDense, 0.6, {}}};
  std::vector<ScoreDetail> candidates = d;
  fusion->Fuse(&d);
  fusion->Fuse(&candidates, CalibratedFusion::Units::kCandidates);
  EXPECT_NEAR(d[1].fused, 1 / (1 + std::exp(2.0)), 1e-12);
  EXPECT_NEAR(candidates[1].fused, 1 / (1 + std::exp(-3.0)), 1e-12);
  EXPECT_NEAR(candidates[0].fused, 1 / (1 + std::exp(3.0)), 1e-12);
}

// A budgeted request's dense view judged only some passages: each view is
// normalised over the passages both judged (as if the request held only
// those), an unread passage ranks as the view's worst judged one, and the
// budgeted calibration applies.
TEST(CalibratedFusionTest, UnjudgedPassagesDoNotSkewTheNormalisation) {
  const std::string path = ::testing::TempDir() + "/fusion3.json";
  std::ofstream(path) << R"({"method": "convex", "normalization": "z",
                             "views": ["lexical", "dense"], "weights": [0.5, 0.5],
                             "calibration": {"slope": 1, "intercept": 0},
                             "budgeted_calibration": {"slope": 2, "intercept": 0}})";
  auto fusion = CalibratedFusion::Load(path, "");
  ASSERT_TRUE(fusion.ok()) << fusion.status();
  const double lexical[] = {5, 4, 3, 1, 0}, dense[] = {0.62, 0.7, 0.66, 0, 0};
  std::vector<ScoreDetail> budgeted(5), judged_only(3);
  for (int i = 0; i < 5; ++i) {
    budgeted[i].views = {{ViewKind::kLexical, lexical[i], {}},
                         {ViewKind::kDense, dense[i], {}, /*judged=*/i < 3}};
    if (i < 3) judged_only[i].views = budgeted[i].views;
  }
  fusion->Fuse(&budgeted);
  fusion->Fuse(&judged_only);
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  for (int i = 0; i < 3; ++i) {
    // The same combination; the budgeted calibration's slope is twice.
    EXPECT_NEAR(logit(budgeted[i].fused), 2 * logit(judged_only[i].fused),
                1e-9);
  }
  // Judged over the first three: lexical mean 4, sd sqrt(2/3); dense mean
  // 0.66, sd sqrt(0.0032/3); the unread passage 3 gets dense's lowest.
  const double sl = std::sqrt(2.0 / 3), sd = std::sqrt(0.0032 / 3);
  EXPECT_NEAR(logit(budgeted[3].fused),
              2 * (0.5 * (1 - 4) / sl + 0.5 * (0.62 - 0.66) / sd), 1e-9);
  // Passage 1 (the best dense score) leads; counting the unread zeros
  // would have left passage 0 (the best BM25) ahead.
  EXPECT_GT(budgeted[1].fused, budgeted[0].fused);
  EXPECT_GT(budgeted[2].fused, budgeted[3].fused);
}

// It fuses two or more of its own views; anything else (the LLM's, one
// view) stays with rank fusion.
TEST(CalibratedFusionTest, CoversOnlyItsOwnViews) {
  const auto [path, sha256] = ShippedPin();
  auto fusion = CalibratedFusion::Load(path, sha256);
  ASSERT_TRUE(fusion.ok()) << fusion.status();
  EXPECT_TRUE(fusion->Covers({ViewKind::kLexical, ViewKind::kDense}));
  EXPECT_TRUE(fusion->Covers(
      {ViewKind::kLexical, ViewKind::kDense, ViewKind::kEntity}));
  EXPECT_FALSE(fusion->Covers({ViewKind::kDense}));
  EXPECT_FALSE(
      fusion->Covers({ViewKind::kLexical, ViewKind::kDense, ViewKind::kLlm}));
}

}  // namespace
}  // namespace attnr::views

#include "model/scoring/attention_scorer.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"
#include "model/text/tokenizer.h"

namespace attnr::scoring {
namespace {

// A sequence of n tokens; the scorer reads only its length and identity.
std::vector<text::Token> Sequence(size_t n) {
  return std::vector<text::Token>(n);
}

TEST(AttentionViewTest, EvenAttentionScoresOneAndNoTokensScoresZero) {
  const auto seq = Sequence(8);
  const std::vector<TokenSlice> units = {
      {&seq, 0, 4}, {&seq, 4, 8}, {&seq, 4, 4}};
  AttentionViewScorer scorer(units, units.size(), 8, {2, 0.1});
  // One query token of weight 0.5 spreading its mass evenly.
  const std::vector<float> row(8, 0.5f / 8);
  const float weight = 0.5f;
  scorer.AddRows(&seq, 0, row.data(), 1, &weight);
  const std::vector<double> s = scorer.Scores();
  EXPECT_NEAR(s[0], 1.0, 1e-6);
  EXPECT_NEAR(s[1], 1.0, 1e-6);
  EXPECT_EQ(s[2], 0.0);
}

TEST(AttentionViewTest, PeaksDecideNotLengthAndFewerTokensThanTopCountLess) {
  const auto seq = Sequence(100);
  // The same two peaks inside a short and a long unit; a one-token unit
  // holding one peak.
  const std::vector<TokenSlice> units = {
      {&seq, 0, 4}, {&seq, 10, 60}, {&seq, 70, 71}, {&seq, 80, 100}};
  std::vector<float> row(100, 0.0001f);
  row[1] = row[2] = row[20] = row[21] = 0.2f;
  row[70] = 0.2f;
  float total = 0;
  for (float v : row) total += v;
  AttentionViewScorer scorer(units, units.size(), 100, {2, 0.03});
  scorer.AddRows(&seq, 0, row.data(), 1, &total);
  const std::vector<double> s = scorer.Scores();
  EXPECT_NEAR(s[0], s[1], 1e-9);  // Summed mass would favour the long unit
  EXPECT_GT(s[1], s[2]);          // Top-2 mean: the missing token is 0.
  EXPECT_GT(s[2], s[3]);
  EXPECT_LT(s[3], 1.0);  // Less than even attention.
}

TEST(AttentionViewTest, AUnitDrawingEveryQueryTokenBeatsOneTakingOneToken) {
  const auto seq = Sequence(40);
  const std::vector<TokenSlice> units = {{&seq, 0, 10}, {&seq, 10, 20}};
  std::vector<float> rows(2 * 40, 0.001f);  // Two query tokens' rows.
  rows[5] = 0.40f;   // Token 0 looks hard at unit 0; token 1 does not.
  rows[12] = 0.05f;  // Unit 1 draws both tokens, modestly.
  rows[40 + 15] = 0.05f;
  const float weights[2] = {0.5f, 0.5f};
  AttentionViewScorer scorer(units, units.size(), 40, {1, 0.03});
  scorer.AddRows(&seq, 0, rows.data(), 2, weights);
  const std::vector<double> s = scorer.Scores();
  // Summed mass ranks unit 0 first (0.41 against 0.10 + 0.02)...
  EXPECT_GT(s[1], s[0]);
  // ...the geometric mean of densities (mass / (0.5 / 40)) does not:
  // unit 1: both tokens at density 4.
  EXPECT_NEAR(s[1], 0.97 * 4 + 0.03, 1e-4);
  // unit 0: densities 32 and 0.08.
  EXPECT_NEAR(s[0], std::sqrt((0.97 * 32 + 0.03) * (0.97 * 0.08 + 0.03)), 1e-4);
}

TEST(AttentionViewTest, DensityIsOverEveryTokenOfEverySequence) {
  // Two documents of 10 tokens: the even spread is over all 20.
  const auto a = Sequence(10);
  const auto b = Sequence(10);
  const std::vector<TokenSlice> units = {{&a, 0, 10}, {&b, 0, 10}};
  AttentionViewScorer scorer(units, units.size(), 20, {1, 0.5});
  const float weight = 1.0f;
  std::vector<float> ra(10, 0.0f), rb(10, 0.0f);
  ra[3] = 0.8f;
  rb[7] = 0.2f;
  scorer.AddRows(&a, 0, ra.data(), 1, &weight);
  scorer.AddRows(&b, 0, rb.data(), 1, &weight);
  const std::vector<double> s = scorer.Scores();
  EXPECT_NEAR(s[0], 0.5 * 0.8 * 20 + 0.5, 1e-5);
  EXPECT_NEAR(s[1], 0.5 * 0.2 * 20 + 0.5, 1e-5);
}

TEST(AttentionViewTest, AttendedTermsNameTheQueryWordsThatLiftAUnit) {
  const auto seq = Sequence(40);
  const std::vector<text::Token> query = text::Tokenize("undo the commit undo");
  ASSERT_EQ(query.size(), 4u);
  const std::vector<TokenSlice> units = {
      {&seq, 0, 10}, {&seq, 10, 20}, {&seq, 20, 40}};
  // Rows come in two groups of query tokens, as the model sends them.
  std::vector<float> first(2 * 40, 0.001f), second(2 * 40, 0.001f);
  first[3] = 0.3f;        // "undo" -> unit 0.
  first[40 + 5] = 0.01f;  // "the", nearly weightless, peaks in unit 0 too.
  second[12] = 0.3f;      // "commit" -> unit 1, strongly...
  second[4] = 0.05f;      // ...and a little in unit 0.
  second[40 + 6] = 0.3f;  // The second "undo" -> unit 0.
  const float w1[2] = {0.3f, 0.001f}, w2[2] = {0.4f, 0.299f};
  AttentionViewScorer scorer(units, units.size(), 40, {1, 0.2}, &query);
  scorer.AddRows(&seq, 0, first.data(), 2, w1);
  scorer.AddRows(&seq, 2, second.data(), 2, w2);
  // Unit 0: "commit" lifts it less than "undo" (listed once); "the" weighs
  // too little to count.
  EXPECT_EQ(scorer.AttendedTerms(0),
            (std::vector<std::string>{"undo", "commit"}));
  EXPECT_EQ(scorer.AttendedTerms(1), (std::vector<std::string>{"commit"}));
  EXPECT_TRUE(scorer.AttendedTerms(2).empty());
  // Without the query, no reasons are kept.
  AttentionViewScorer plain(units, units.size(), 40, {1, 0.2});
  plain.AddRows(&seq, 0, first.data(), 2, w1);
  EXPECT_TRUE(plain.AttendedTerms(0).empty());
}

}  // namespace
}  // namespace attnr::scoring

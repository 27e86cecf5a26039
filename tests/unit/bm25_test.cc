#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/scoring/bm25_index.h"
#include "model/scoring/lexical_view.h"
#include "model/scoring/term_analyzer.h"
#include "model/text/tokenizer.h"

namespace attnr::scoring {
namespace {

using ::testing::ElementsAre;
using Units = std::vector<std::vector<uint32_t>>;
using ::testing::UnorderedElementsAre;

TEST(TermAnalyzerTest, StemsWithSnowballAndDropsStopwords) {
  TermAnalyzer analyzer;
  EXPECT_EQ(analyzer.Term("configuring"), analyzer.Term("configured"));
  EXPECT_EQ(analyzer.Term("running"), "run");
  EXPECT_EQ(analyzer.Term("the"), "");
  EXPECT_EQ(analyzer.Term("doesn't"), "");
  EXPECT_TRUE(TermAnalyzer::IsStopword("which"));
  EXPECT_FALSE(TermAnalyzer::IsStopword("kernel"));
}

TEST(Bm25IndexTest, RareTermsWeighMoreAndTermFrequencySaturates) {
  // Term 0 is in every unit, term 1 in one.
  const Bm25Index index(Units{{0, 1}, {0, 2}, {0, 3}, {0, 0, 0, 0}});
  EXPECT_GT(index.Idf(1), index.Idf(0));
  const std::vector<double> s = index.Score({0, 1});
  EXPECT_GT(s[0], s[1]);
  // More occurrences score higher, but less than linearly.
  const Bm25Index tf(Units{{5}, {5, 5}, {5, 5, 5, 5}, {6}});
  const std::vector<double> t = tf.Score({5});
  EXPECT_LT(t[0], t[1]);
  EXPECT_LT(t[1] - t[0], t[0]);
}

TEST(Bm25IndexTest, LongerUnitsAreNormalised) {
  const Bm25Index index(Units{{7, 1, 2, 3, 4, 5}, {7}, {8}, {9}});
  const std::vector<double> s = index.Score({7});
  EXPECT_GT(s[1], s[0]);
  EXPECT_EQ(s[2], 0.0);
}

TEST(Bm25IndexTest, EmptyCollectionAndUnknownTerms) {
  EXPECT_TRUE(Bm25Index(Units{}).Score({1}).empty());
  EXPECT_THAT(Bm25Index(Units{{1}, {2}}).Score({3}), ElementsAre(0.0, 0.0));
}

TEST(LexicalViewTest, RanksTheUnitThatAnswersFirst) {
  const std::vector<text::Token> doc = text::Tokenize(
      "The kernel boots first. Packages are installed with apt. "
      "Configuring the network uses ifupdown files. The kernel is Linux.");
  // Units: the four sentences, by token index.
  const std::vector<TokenSlice> units = {
      {&doc, 0, 4}, {&doc, 4, 8}, {&doc, 8, 14}, {&doc, 14, 18}};
  const auto query = text::Tokenize("How do I configure the network?");
  const LexicalScores scores = ScoreLexical(query, units, true);
  ASSERT_EQ(scores.scores.size(), 4u);
  EXPECT_GT(scores.scores[2], 0.0);
  EXPECT_EQ(scores.scores[0], 0.0);
  EXPECT_EQ(scores.scores[1], 0.0);
  EXPECT_THAT(scores.matched_terms[2],
              UnorderedElementsAre("configure", "network"));
  EXPECT_TRUE(scores.matched_terms[0].empty());
}

TEST(LexicalViewTest, TermsInEveryUnitCountLess) {
  const std::vector<text::Token> doc = text::Tokenize(
      "debian package alpha. debian package beta. debian package gamma.");
  const std::vector<TokenSlice> units = {
      {&doc, 0, 3}, {&doc, 3, 6}, {&doc, 6, 9}};
  const auto scores =
      ScoreLexical(text::Tokenize("debian package beta"), units, false);
  EXPECT_GT(scores.scores[1], scores.scores[0]);
  EXPECT_DOUBLE_EQ(scores.scores[0], scores.scores[2]);
}

}  // namespace
}  // namespace attnr::scoring

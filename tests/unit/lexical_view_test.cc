#include "model/views/lexical_view.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/scoring/document_terms.h"
#include "model/scoring/term_analyzer.h"
#include "model/text/tokenizer.h"

namespace attnr::views {
namespace {

using ::testing::UnorderedElementsAre;

// One text, its units given as token ranges.
struct OneText {
  explicit OneText(const std::string& s)
      : text(s), tokens(text::Tokenize(text)), terms(tokens) {}
  std::string text;
  std::vector<text::Token> tokens;
  scoring::DocumentTerms terms;
};

ViewScores Score(const OneText& doc, const std::string& query_text,
                 const std::vector<std::pair<uint32_t, uint32_t>>& ranges,
                 size_t scored, bool explain) {
  const std::vector<text::Token> query = text::Tokenize(query_text);
  ViewRequest request;
  request.query_text = query_text;
  request.query = &query;
  request.sequences.push_back({"", doc.text, &doc.tokens, &doc.terms});
  for (const auto& [b, e] : ranges) request.units.push_back({0, b, e, 0, 0});
  request.scored = scored;
  request.explain = explain;
  ViewUsage usage;
  auto scores = LexicalView().Score(request, nullptr, &usage);
  EXPECT_TRUE(scores.ok()) << scores.status();
  return *scores;
}

TEST(TermAnalyzerTest, StemsWithSnowballAndDropsStopwords) {
  scoring::TermAnalyzer analyzer;
  EXPECT_EQ(analyzer.Term("configuring"), analyzer.Term("configured"));
  EXPECT_EQ(analyzer.Term("running"), "run");
  EXPECT_EQ(analyzer.Term("the"), "");
  EXPECT_EQ(analyzer.Term("doesn't"), "");
  EXPECT_TRUE(scoring::TermAnalyzer::IsStopword("which"));
  EXPECT_FALSE(scoring::TermAnalyzer::IsStopword("kernel"));
}

TEST(DocumentTermsTest, CountsStemsInRangesAndSkipsStopwords) {
  const OneText doc("the network configured; configuring networks is fun");
  const scoring::DocumentTerms& t = doc.terms;
  const uint32_t config = t.IdOf(scoring::TermAnalyzer().Term("configure"));
  ASSERT_NE(config, scoring::DocumentTerms::kNoTerm);
  EXPECT_EQ(t.Count(config, 0, doc.tokens.size()), 2u);
  EXPECT_EQ(t.Count(config, 0, 3), 1u);
  EXPECT_EQ(t.IdOf("the"), scoring::DocumentTerms::kNoTerm);
  // "the" and "is" are stopwords: 5 index terms among 7 tokens.
  EXPECT_EQ(doc.tokens.size(), 7u);
  EXPECT_EQ(t.Length(0, 7), 5u);
}

TEST(LexicalViewTest, MatchesTheBm25FormulaOnAHandExample) {
  // Units: "alpha beta" | "alpha" | "gamma gamma"; query "beta alpha".
  const OneText doc("alpha beta alpha gamma gamma");
  const ViewScores s =
      Score(doc, "beta alpha", {{0, 2}, {2, 3}, {3, 5}}, 3, false);
  const double n = 3, avg = 5.0 / 3, k1 = 1.2, b = 0.75;
  auto idf = [&](double df) {
    return std::log(1 + (n - df + 0.5) / (df + 0.5));
  };
  auto part = [&](double tf, double len) {
    return tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg));
  };
  EXPECT_NEAR(s.scores[0], idf(1) * part(1, 2) + idf(2) * part(1, 2), 1e-12);
  EXPECT_NEAR(s.scores[1], idf(2) * part(1, 1), 1e-12);
  EXPECT_EQ(s.scores[2], 0.0);
}

TEST(LexicalViewTest, RanksTheUnitThatAnswersFirst) {
  const OneText doc(
      "The kernel boots first. Packages are installed with apt. "
      "Configuring the network uses ifupdown files. The kernel is Linux.");
  const ViewScores s = Score(doc, "How do I configure the network?",
                             {{0, 4}, {4, 8}, {8, 14}, {14, 18}}, 4, true);
  ASSERT_EQ(s.scores.size(), 4u);
  EXPECT_GT(s.scores[2], 0.0);
  EXPECT_EQ(s.scores[0], 0.0);
  EXPECT_EQ(s.scores[1], 0.0);
  EXPECT_THAT(s.reasons[2], UnorderedElementsAre("configure", "network"));
  EXPECT_TRUE(s.reasons[0].empty());
}

TEST(LexicalViewTest, TermsInEveryUnitCountLessAndFrequencySaturates) {
  const OneText doc(
      "debian package alpha. debian package beta. debian package gamma.");
  const ViewScores s =
      Score(doc, "debian package beta", {{0, 3}, {3, 6}, {6, 9}}, 3, false);
  EXPECT_GT(s.scores[1], s.scores[0]);
  EXPECT_DOUBLE_EQ(s.scores[0], s.scores[2]);
  const OneText tf("kernel x. kernel kernel. kernel kernel kernel kernel. y");
  const ViewScores t =
      Score(tf, "kernel", {{0, 2}, {2, 4}, {4, 8}, {8, 9}}, 4, false);
  EXPECT_LT(t.scores[0], t.scores[1]);
  EXPECT_LT(t.scores[1], t.scores[2]);
  EXPECT_LT(t.scores[2] - t.scores[1], t.scores[1] - t.scores[0]);
}

TEST(LexicalViewTest, StatisticsOnlyUnitsChangeIdfButAreNotScored) {
  // The same two scored units, with and without extra context units that
  // all contain "apt": the term weighs less when the context is common.
  const OneText doc("apt install. dpkg query. apt apt. apt cache. apt list.");
  const ViewScores alone = Score(doc, "apt", {{0, 2}, {2, 4}}, 2, false);
  const ViewScores with_context =
      Score(doc, "apt", {{0, 2}, {2, 4}, {4, 6}, {6, 8}, {8, 10}}, 2, false);
  ASSERT_EQ(with_context.scores.size(), 2u);
  EXPECT_GT(alone.scores[0], with_context.scores[0]);
  EXPECT_EQ(with_context.scores[1], 0.0);
}

}  // namespace
}  // namespace attnr::views

#include "model/views/entity_view.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/document_analysis.h"
#include "model/text/analyzed_document.h"
#include "model/text/passage_builder.h"

namespace attnr::views {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A document and its passages (one per paragraph: 24-token passages).
struct Doc {
  explicit Doc(std::string s) : text(std::move(s)) {
    auto analyzed = text::AnalyzeDocument(text, {});
    EXPECT_TRUE(analyzed.ok()) << analyzed.status();
    analysis = std::make_unique<DocumentAnalysis>(*std::move(analyzed), text);
    text::PassageOptions options;
    options.max_tokens = 24;
    passages = text::BuildPassages(analysis->text, options);
  }
  std::string text;
  std::unique_ptr<DocumentAnalysis> analysis;
  std::vector<text::PassageBounds> passages;
};

ViewScores Score(const Doc& doc, const std::string& query_text,
                 EntityViewOptions options = {}) {
  const std::vector<text::Token> query = text::Tokenize(query_text);
  ViewRequest request;
  request.query_text = query_text;
  request.query = &query;
  request.sequences.push_back(
      {"", doc.text, &doc.analysis->text.tokens, &doc.analysis->terms,
       &doc.analysis->text.sentences, &doc.analysis->entities});
  for (const text::PassageBounds& p : doc.passages) {
    request.units.push_back(
        {0, p.token_begin, p.token_end, p.span.begin_byte, p.span.end_byte});
  }
  request.scored = request.units.size();
  request.explain = true;
  ViewUsage usage;
  auto scores = EntityView(options).Score(request, nullptr, &usage);
  EXPECT_TRUE(scores.ok()) << scores.status();
  return *scores;
}

std::string Filler(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += "The weather stayed mild and the harvest was good that year.\n\n";
  }
  return out;
}

TEST(EntityViewTest, RaisesUnitsNamingTheQuerysEntitiesByRarity) {
  // "Mr. Darcy" is named once and "Darcy's" once more; Netherfield Park
  // twice; Elizabeth Bennet (not asked about) twice.
  const Doc doc(
      "Mr. Darcy arrived at Netherfield Park in the autumn.\n\n" + Filler(20) +
      "Elizabeth Bennet found Darcy's manners proud.\n\n" + Filler(20) +
      "Elizabeth Bennet walked to Netherfield Park in the rain.\n\n" +
      Filler(20));
  ASSERT_EQ(doc.passages.size(), 63u);
  const ViewScores s =
      Score(doc, "When did Mr. Darcy come to Netherfield Park?");
  // Darcy (2 sentences of 63) and Netherfield Park (2 of 63) weigh alike;
  // 2 sentences count however short the document.
  const double weight = std::log(1.0 + 63.0 / 2.0);
  EXPECT_NEAR(s.scores[0], 2 * weight, 1e-9);
  EXPECT_NEAR(s.scores[21], weight, 1e-9);
  EXPECT_NEAR(s.scores[42], weight, 1e-9);
  ASSERT_EQ(s.reasons[0].size(), 2u);
  EXPECT_THAT(s.reasons[0][0], ::testing::HasSubstr("Darcy"));
  EXPECT_EQ(s.reasons[0][1], "Netherfield Park");
  EXPECT_EQ(s.reasons[21], std::vector<std::string>{s.reasons[0][0]});
  EXPECT_THAT(s.reasons[42], ElementsAre("Netherfield Park"));
  // Filler mentions none of them.
  EXPECT_EQ(s.scores[1], 0.0);
  EXPECT_THAT(s.reasons[1], IsEmpty());
}

TEST(EntityViewTest, IgnoresEntitiesMentionedAllOverTheDocument) {
  std::string text;
  for (int i = 0; i < 10; ++i) {
    text += "Each release of Debian ships package number " + std::to_string(i) +
            ".\n\n";
  }
  text += "The policy manual of Debian describes the rules.\n\n";
  const Doc doc(text);
  ASSERT_EQ(doc.passages.size(), 11u);
  const ViewScores s = Score(doc, "Where are the Debian rules?");
  for (double v : s.scores) EXPECT_EQ(v, 0.0);
  EntityViewOptions none_always;
  none_always.always_counted_sentences = 0;
  none_always.max_sentence_share = 0.5;
  const ViewScores half =
      Score(doc, "Where are the Debian rules?", none_always);
  for (double v : half.scores) EXPECT_EQ(v, 0.0);
  // With a generous share "Debian" counts, in every passage alike.
  EntityViewOptions all;
  all.max_sentence_share = 1.0;
  const ViewScores t = Score(doc, "Where are the Debian rules?", all);
  EXPECT_NEAR(t.scores[0], std::log(1.0 + 11.0 / 11.0), 1e-9);
  EXPECT_EQ(t.scores[0], t.scores[10]);
}

TEST(EntityViewTest, QueriesWithoutEntitiesScoreNothing) {
  const Doc doc("Mr. Darcy arrived at Netherfield Park.\n\n" + Filler(3));
  const ViewScores s = Score(doc, "how is the weather in autumn");
  for (double v : s.scores) EXPECT_EQ(v, 0.0);
}

}  // namespace
}  // namespace attnr::views

#include "model/views/dense_view.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/scoring/document_terms.h"
#include "model/text/tokenizer.h"
#include "tests/unit/pretrained_model_folder.h"

namespace attnr::views {
namespace {

using ::testing::HasSubstr;

// Loaded once: the encoder is read-only.
const bert::BertEncoder* SharedEncoder() {
  static const bert::BertEncoder* encoder = [] {
    auto loaded = bert::BertEncoder::Load(
        PretrainedModelFolder("all-minilm-l6-v2"), /*threads=*/2);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return loaded.ok() ? loaded->release() : nullptr;
  }();
  return encoder;
}

std::unique_ptr<DenseView> MakeView(ModelGate* gate) {
  auto loaded = bert::BertEncoder::Load(
      PretrainedModelFolder("all-minilm-l6-v2"), /*threads=*/2);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return std::make_unique<DenseView>(*std::move(loaded), DenseViewParams(),
                                     /*cache_bytes=*/8 << 20, gate);
}

// A document whose units are its lines.
struct Document {
  explicit Document(std::vector<std::string> lines) {
    for (const std::string& l : lines) {
      const uint32_t begin = static_cast<uint32_t>(text.size());
      text += l;
      bounds.emplace_back(begin, static_cast<uint32_t>(text.size()));
      text += "\n";
    }
    tokens = text::Tokenize(text);
    terms = std::make_unique<scoring::DocumentTerms>(tokens);
  }
  ViewRequest Request(const std::string& query_text,
                      const std::vector<text::Token>* query) const {
    ViewRequest r;
    r.query_text = query_text;
    r.query = query;
    r.sequences.push_back({"doc-digest", text, &tokens, terms.get()});
    for (const auto& [b, e] : bounds) r.units.push_back({0, 0, 0, b, e});
    r.scored = r.units.size();
    return r;
  }
  std::string text;
  std::vector<std::pair<uint32_t, uint32_t>> bounds;
  std::vector<text::Token> tokens;
  std::unique_ptr<scoring::DocumentTerms> terms;
};

const Document& Faq() {
  static const Document* doc = new Document({
      "The cat sat on the windowsill watching birds in the garden.",
      "To reduce your electricity bill, switch off appliances at the wall "
      "and use LED bulbs.",
      "Python lists are sorted in place by the sort method.",
      "The museum opens at nine on weekdays and at ten on Sundays.",
  });
  return *doc;
}

TEST(DenseViewTest, FindsTheAnswerThatSharesNoWordWithTheQuery) {
  ModelGate gate;
  auto view = MakeView(&gate);
  const std::string q = "How can I lower my power costs?";
  const auto query = text::Tokenize(q);
  const ViewRequest request = Faq().Request(q, &query);
  ViewUsage usage;
  auto prepared = view->Derive(request, 0, &usage);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  auto scores = view->Score(request, prepared->get(), &usage);
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(scores->scores.size(), 4u);
  for (double s : scores->scores) {
    EXPECT_GT(s, 0.0);
    EXPECT_LE(s, 1.0);
  }
  for (size_t u : {0, 2, 3}) EXPECT_GT(scores->scores[1], scores->scores[u]);
  EXPECT_EQ(usage.unjudged_units, 0u);
  EXPECT_FALSE(usage.cache_hit);
}

TEST(DenseViewTest, ScoreIsTheCosineOfTheEncodersEmbeddings) {
  ModelGate gate;
  auto view = MakeView(&gate);
  const std::string q = "opening hours of the museum";
  const auto query = text::Tokenize(q);
  const ViewRequest request = Faq().Request(q, &query);
  ViewUsage usage;
  auto prepared = view->Derive(request, 0, &usage);
  ASSERT_TRUE(prepared.ok());
  auto scores = view->Score(request, prepared->get(), &usage);
  ASSERT_TRUE(scores.ok());
  // The same figure straight from the (reference-verified) encoder.
  const bert::BertEncoder* encoder = SharedEncoder();
  ASSERT_NE(encoder, nullptr);
  auto ids = [&](absl::string_view text) {
    std::vector<int32_t> out;
    for (const auto& p : encoder->tokenizer().Tokenize(text))
      out.push_back(p.id);
    return out;
  };
  const std::string unit = Faq().text.substr(
      Faq().bounds[3].first, Faq().bounds[3].second - Faq().bounds[3].first);
  auto e = encoder->Embed({ids(q), ids(unit)});
  ASSERT_TRUE(e.ok());
  const int64_t dim = encoder->dim();
  double dot = 0, nq = 0, nu = 0;
  for (int64_t k = 0; k < dim; ++k) {
    dot += (*e)[k] * (*e)[dim + k];
    nq += (*e)[k] * (*e)[k];
    nu += (*e)[dim + k] * (*e)[dim + k];
  }
  const double cosine = dot / std::sqrt(nq * nu);
  EXPECT_NEAR(scores->scores[3], (1 + cosine) / 2, 1e-5);
}

TEST(DenseViewTest, BudgetJudgesThePriorityUnitsFirstAndTheCacheTheRest) {
  ModelGate gate;
  auto view = MakeView(&gate);
  const std::string q = "How can I lower my power costs?";
  const auto query = text::Tokenize(q);
  ViewRequest request = Faq().Request(q, &query);
  request.priority = {2, 1, 0, 3};
  ViewUsage first;
  // One token of budget: the first unit in priority order is embedded
  // (a unit is never cut), the rest are left unjudged.
  auto prepared = view->Derive(request, /*budget_tokens=*/1, &first);
  ASSERT_TRUE(prepared.ok());
  auto scores = view->Score(request, prepared->get(), &first);
  ASSERT_TRUE(scores.ok());
  EXPECT_GT(scores->scores[2], 0.0);
  EXPECT_EQ(scores->scores[0], 0.0);
  EXPECT_EQ(scores->scores[1], 0.0);
  EXPECT_EQ(scores->scores[3], 0.0);
  EXPECT_EQ(first.unjudged_units, 3u);

  // A warm-up without a budget embeds the rest; a budgeted request then
  // judges every unit and embeds only its query.
  ViewUsage warm;
  ASSERT_TRUE(view->Derive(request, 0, &warm).ok());
  ViewUsage again;
  auto all = view->Derive(request, 1, &again);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(again.cache_hit);
  EXPECT_EQ(again.unjudged_units, 0u);
  EXPECT_LT(again.encoded_tokens, 16u);  // The query's tokens only.
  auto rescored = view->Score(request, all->get(), &again);
  ASSERT_TRUE(rescored.ok());
  for (double s : rescored->scores) EXPECT_GT(s, 0.0);
  EXPECT_EQ(rescored->scores[2], scores->scores[2]);
}

TEST(DenseViewTest, ABudgetedRequestWorksOnlyForItsCandidates) {
  ModelGate gate;
  auto view = MakeView(&gate);
  const std::string q = "museum hours";
  const auto query = text::Tokenize(q);
  ViewRequest request = Faq().Request(q, &query);
  request.priority = {3, 0, 1, 2};
  request.candidates = 2;
  ViewUsage usage;
  auto prepared = view->Derive(request, /*budget_tokens=*/100000, &usage);
  ASSERT_TRUE(prepared.ok());
  auto scores = view->Score(request, prepared->get(), &usage);
  ASSERT_TRUE(scores.ok());
  EXPECT_GT(scores->scores[3], 0.0);
  EXPECT_GT(scores->scores[0], 0.0);
  EXPECT_EQ(scores->scores[1], 0.0);
  EXPECT_EQ(scores->scores[2], 0.0);
  EXPECT_EQ(usage.unjudged_units, 2u);

  // The same request again: its candidates are cached, nothing new is
  // embedded but the query.
  ViewUsage repeat;
  auto again = view->Derive(request, 100000, &repeat);
  ASSERT_TRUE(again.ok());
  EXPECT_LT(repeat.encoded_tokens, 8u);
  EXPECT_EQ(repeat.unjudged_units, 2u);
}

TEST(DenseViewTest, ALongUnitIsEmbeddedInPiecesNotTruncated) {
  ModelGate gate;
  auto view = MakeView(&gate);
  // 300 filler words, then the answer: past the encoder's 254-token window.
  std::string filler;
  for (int i = 0; i < 300; ++i) filler += "lorem ";
  const Document doc({filler + "To reduce your electricity bill, switch off "
                               "appliances at the wall.",
                      "Python lists can be sorted with the sort method."});
  const std::string q = "How can I lower my power costs?";
  const auto query = text::Tokenize(q);
  const ViewRequest request = doc.Request(q, &query);
  ViewUsage usage;
  auto prepared = view->Derive(request, 0, &usage);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  auto scores = view->Score(request, prepared->get(), &usage);
  ASSERT_TRUE(scores.ok());
  EXPECT_GT(scores->scores[0], scores->scores[1]);
  EXPECT_GT(usage.encoded_tokens, 300u);
}

TEST(DenseViewTest, StoppedRequestStopsWithItsStage) {
  ModelGate gate;
  auto view = MakeView(&gate);
  const std::string q = "museum hours";
  const auto query = text::Tokenize(q);
  ViewRequest request = Faq().Request(q, &query);
  request.stop = StopSignal(absl::Now() - absl::Seconds(1));
  ViewUsage usage;
  auto prepared = view->Derive(request, 0, &usage);
  EXPECT_EQ(prepared.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(prepared.status().message(), HasSubstr("dense"));
}

}  // namespace
}  // namespace attnr::views

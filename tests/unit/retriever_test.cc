#include "model/retriever.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/request_field.h"
#include "tests/unit/pretrained_model_folder.h"

namespace attnr {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<Retriever> MakeRetriever(TextLimits limits = {}) {
  RetrieverConfig config;
  config.limits = limits;
  auto r = Retriever::Create(config);
  EXPECT_TRUE(r.ok()) << r.status();
  return *std::move(r);
}

const char kDoc[] =
    "# Networking\n"
    "The network is configured in /etc/network/interfaces. "
    "Use ifup to bring an interface up.\n\n"
    "# Packages\n"
    "Packages are installed with apt. The apt tool resolves dependencies.\n\n"
    "# Kernel\n"
    "The kernel is Linux. It boots from GRUB.\n";

std::string Slice(absl::string_view text, const text::TextSpan& s) {
  return std::string(text.substr(s.begin_byte, s.byte_length()));
}

TEST(RetrieverTest, RanksTheAnsweringSectionFirstWithExactRanges) {
  auto r = MakeRetriever();
  RetrieveParams params;
  params.top_k = 3;
  params.max_passage_tokens = 64;
  params.explain = true;
  auto result =
      r->Retrieve("how do I install packages with apt", {{"d", kDoc}}, params);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_FALSE(result->passages.empty());
  const RetrievedPassage& top = result->passages[0];
  EXPECT_EQ(Slice(kDoc, top.span),
            "# Packages\nPackages are installed with apt. The apt tool "
            "resolves dependencies.");
  EXPECT_EQ(top.span.begin_char, top.span.begin_byte);  // ASCII document.
  EXPECT_GT(top.detail.ScoreOf(ViewKind::kLexical), 0.0);
  EXPECT_EQ(top.detail.fused, top.detail.ScoreOf(ViewKind::kLexical));
  EXPECT_THAT(top.detail.ReasonsOf(ViewKind::kLexical),
              ::testing::UnorderedElementsAre("install", "packages", "apt"));
  // Passages without any query term are not returned.
  for (const RetrievedPassage& p : result->passages) {
    EXPECT_GT(p.detail.fused, 0.0);
  }
  EXPECT_EQ(result->usage.query_tokens, 7u);
  EXPECT_GT(result->usage.document_tokens, 30u);
}

TEST(RetrieverTest, ARepeatedDocumentGivesWhatAFreshAnalysisGives) {
  // The analysis cache is keyed by the text and by the analysis options: a
  // document seen with one passage size must not be cut the same way for
  // another.
  auto warm = MakeRetriever();
  RetrieveParams small, large;
  small.top_k = large.top_k = 10;
  small.max_passage_tokens = 4;
  large.max_passage_tokens = 64;
  auto spans = [](const RetrieveResult& r) {
    std::vector<std::pair<uint32_t, uint32_t>> out;
    for (const auto& p : r.passages) {
      out.emplace_back(p.span.begin_byte, p.span.end_byte);
    }
    return out;
  };
  const std::string query = "how do I install packages with apt";
  auto first_small = warm->Retrieve(query, {{"d", kDoc}}, small);
  auto first_large = warm->Retrieve(query, {{"d", kDoc}}, large);
  auto again_small = warm->Retrieve(query, {{"d", kDoc}}, small);
  auto fresh_large = MakeRetriever()->Retrieve(query, {{"d", kDoc}}, large);
  ASSERT_TRUE(first_small.ok() && first_large.ok() && again_small.ok() &&
              fresh_large.ok());
  EXPECT_EQ(spans(*first_large), spans(*fresh_large));
  EXPECT_EQ(spans(*again_small), spans(*first_small));
  EXPECT_NE(spans(*first_small), spans(*first_large));
  EXPECT_EQ(first_large->usage.sentences, fresh_large->usage.sentences);
  EXPECT_GT(again_small->usage.sentences, first_large->usage.sentences);
}

TEST(RetrieverTest, RangesAcrossDocumentsAndMultiByteText) {
  auto r = MakeRetriever();
  const std::string doc0 = "Nothing relevant here. Just filler text.";
  const std::string doc1 =
      "\xF0\x9F\x93\x9A Caf\xC3\xA9 notes.\n\nThe espresso machine needs "
      "descaling monthly.";
  RetrieveParams params;
  params.max_passage_tokens = 6;
  auto result =
      r->Retrieve("espresso descaling", {{"a", doc0}, {"b", doc1}}, params);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->passages.size(), 1u);
  const RetrievedPassage& p = result->passages[0];
  EXPECT_EQ(p.document_index, 1u);
  EXPECT_EQ(Slice(doc1, p.span),
            "The espresso machine needs descaling monthly.");
  // 📚 (1) + " Café notes." (12) + "\n\n" (2) = 15 code points before.
  EXPECT_EQ(p.span.begin_char, 15u);
  EXPECT_EQ(p.span.begin_byte, 19u);
}

TEST(RetrieverTest, GrowRangesJoinsAdjacentBestPassagesIntoOneRange) {
  auto r = MakeRetriever();
  // The answer runs over two paragraphs; each is its own 16-token passage.
  const std::string doc =
      "Coffee beans come from many countries around the world today.\n\n"
      "To descale the espresso machine, fill the tank with descaler.\n\n"
      "Then run the espresso machine until the descaler tank is empty.\n\n"
      "Tea is grown mostly in China, India and Kenya these days.\n\n"
      "Milk foams best when it is cold and fresh from the fridge.\n";
  RetrieveParams params;
  params.max_passage_tokens = 16;
  params.top_k = 5;
  const std::string query = "descale espresso machine descaler tank";
  auto plain = r->Retrieve(query, {{"d", doc}}, params);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_EQ(plain->passages.size(), 2u);
  params.grow_ranges = true;
  params.max_range_tokens = 64;
  auto grown = r->Retrieve(query, {{"d", doc}}, params);
  ASSERT_TRUE(grown.ok()) << grown.status();
  ASSERT_EQ(grown->passages.size(), 1u);
  const RetrievedPassage& top = grown->passages[0];
  EXPECT_EQ(Slice(doc, top.span),
            "To descale the espresso machine, fill the tank with descaler.\n\n"
            "Then run the espresso machine until the descaler tank is empty.");
  EXPECT_EQ(top.sentences, 2u);
  EXPECT_EQ(top.span.begin_char, doc.find("To descale"));
  EXPECT_EQ(top.detail.fused, plain->passages[0].detail.fused);
  // A token cap smaller than the two passages keeps them apart.
  params.max_range_tokens = 16;
  auto capped = r->Retrieve(query, {{"d", doc}}, params);
  ASSERT_TRUE(capped.ok()) << capped.status();
  EXPECT_EQ(capped->passages.size(), 2u);
}

TEST(RetrieverTest, GrowRangesLeavesPassagesApartWhenNotAdjacent) {
  auto r = MakeRetriever();
  const std::string doc =
      "To descale the espresso machine, fill the tank with descaler.\n\n"
      "Coffee beans come from many countries around the world today.\n\n"
      "Then run the espresso machine until the descaler tank is empty.\n";
  RetrieveParams params;
  params.max_passage_tokens = 16;
  params.grow_ranges = true;
  auto result = r->Retrieve("descale espresso machine descaler tank",
                            {{"d", doc}}, params);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->passages.size(), 2u);
  for (const RetrievedPassage& p : result->passages) {
    EXPECT_EQ(p.sentences, 1u);
    EXPECT_THAT(Slice(doc, p.span), ::testing::Not(HasSubstr("Coffee")));
  }
}

TEST(RetrieverTest, OverlappingPassagesAreNotRepeated) {
  auto r = MakeRetriever();
  std::string doc;
  for (int i = 0; i < 12; ++i)
    doc += "Filler sentence number " + std::to_string(i) + ". ";
  doc += "The rare zebra answer is here. ";
  for (int i = 0; i < 12; ++i) doc += "More filler " + std::to_string(i) + ". ";
  RetrieveParams params;
  params.max_passage_tokens = 12;
  params.overlap_sentences = 2;
  params.top_k = 10;
  auto result = r->Retrieve("zebra answer", {{"", doc}}, params);
  ASSERT_TRUE(result.ok());
  for (size_t i = 0; i < result->passages.size(); ++i) {
    for (size_t j = i + 1; j < result->passages.size(); ++j) {
      const auto& a = result->passages[i].span;
      const auto& b = result->passages[j].span;
      EXPECT_TRUE(a.end_byte <= b.begin_byte || b.end_byte <= a.begin_byte);
    }
  }
  EXPECT_THAT(Slice(doc, result->passages[0].span), HasSubstr("zebra"));
}

TEST(RetrieverTest, ErrorsNameTheFieldAndTheLimit) {
  auto r = MakeRetriever({/*max_document_tokens=*/10,
                          /*max_request_tokens=*/15, /*max_query_tokens=*/3});
  RetrieveParams params;
  auto bad_utf8 =
      r->Retrieve("q", {{"", "fine"}, {"", "bad \xFF here"}}, params);
  EXPECT_EQ(bad_utf8.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_utf8.status().message(),
              HasSubstr("invalid UTF-8 at byte offset 4"));
  // The model says which input; the server names it in the API's terms.
  ASSERT_TRUE(FieldOf(bad_utf8.status()).has_value());
  EXPECT_EQ(FieldOf(bad_utf8.status())->field, RequestField::kDocument);
  EXPECT_EQ(FieldOf(bad_utf8.status())->index, 1);

  auto long_doc = r->Retrieve("q", {{"", "a b c d e f g h i j k"}}, params);
  EXPECT_EQ(long_doc.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(long_doc.status().message(),
              HasSubstr("has more tokens than the limit of 10 "
                        "(max_document_tokens)"));
  EXPECT_EQ(FieldOf(long_doc.status())->index, 0);

  auto request = r->Retrieve(
      "q", {{"", "a b c d e f g h"}, {"", "a b c d e f g h"}}, params);
  EXPECT_EQ(request.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(request.status().message(), HasSubstr("max_request_tokens"));

  auto query = r->Retrieve("one two three four", {{"", "text"}}, params);
  EXPECT_EQ(query.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(query.status().message(), HasSubstr("max_query_tokens"));

  auto punct = r->Retrieve("?!", {{"", "text"}}, params);
  EXPECT_EQ(punct.status().code(), absl::StatusCode::kInvalidArgument);

  params.views = {ViewKind::kDense};
  auto view = r->Retrieve("q", {{"", "text"}}, params);
  EXPECT_EQ(view.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(view.status().message(), HasSubstr("DENSE is not served"));
}

TEST(RetrieverTest, PastDeadlineIsDeadlineExceeded) {
  auto r = MakeRetriever();
  RetrieveParams params;
  params.stop = StopSignal(absl::Now() - absl::Seconds(1));
  auto result = r->Retrieve("q", {{"", "some text"}}, params);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(result.status().message(), HasSubstr("text stage"));
}

TEST(RetrieverTest, CancelledCallIsCancelledNamingTheStage) {
  auto r = MakeRetriever();
  std::atomic<bool> cancelled{true};
  RetrieveParams params;
  params.stop = StopSignal(absl::InfiniteFuture(), &cancelled);
  auto result = r->Retrieve("q", {{"", "some text"}}, params);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(result.status().message(), HasSubstr("text stage"));
}

TEST(RetrieverTest, MissingModelsAreRefusedNotReplaced) {
  RetrieverConfig dense;
  dense.dense_model_path = "/nonexistent/encoder";
  auto r = Retriever::Create(dense);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/encoder"));

  RetrieverConfig llm;
  llm.llm_model_path = "/nonexistent/model.gguf";
  llm.llm_readout_path = "/nonexistent/readout.json";
  r = Retriever::Create(llm);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("LLM view"));
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/"));
}

TEST(RetrieverTest, WithoutModelsOnlyTheLexicalViewIsOffered) {
  auto r = MakeRetriever();
  EXPECT_EQ(r->description().views, std::vector<ViewKind>{ViewKind::kLexical});
  EXPECT_EQ(r->view(ViewKind::kLlm), nullptr);
  EXPECT_EQ(r->view(ViewKind::kDense), nullptr);
  EXPECT_TRUE(r->description().models.empty());
}

TEST(RetrieverScoreTest, ScoresTextAndRangesInOrder) {
  auto r = MakeRetriever();
  const std::string context = kDoc;
  const size_t apt = context.find("Packages are");
  const size_t apt_end = context.find("dependencies.") + 13;
  std::vector<ScoreInput> inputs(3);
  inputs[0].kind = ScoreInput::Kind::kText;
  inputs[0].text = "The kernel is Linux.";
  inputs[1].kind = ScoreInput::Kind::kByteRange;
  inputs[1].start = static_cast<uint32_t>(apt);
  inputs[1].end = static_cast<uint32_t>(apt_end);
  inputs[2].kind = ScoreInput::Kind::kCharRange;
  inputs[2].start = static_cast<uint32_t>(apt);
  inputs[2].end = static_cast<uint32_t>(apt_end);
  const DocumentRef ctx{"ctx", context};
  auto result = r->Score("install packages with apt", inputs, &ctx, {});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->scores.size(), 3u);
  EXPECT_EQ(result->scores[0].detail.fused, 0.0);
  EXPECT_GT(result->scores[1].detail.fused, 0.0);
  EXPECT_DOUBLE_EQ(result->scores[1].detail.fused,
                   result->scores[2].detail.fused);
  EXPECT_EQ(result->scores[1].span.begin_byte, apt);
  EXPECT_EQ(result->scores[2].span.end_byte, apt_end);
}

TEST(RetrieverScoreTest, TextPassagesCarryEntitiesForTheEntityView) {
  RetrieverConfig config;
  config.entity_view = true;
  auto r = Retriever::Create(config);
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<ScoreInput> inputs(2);
  inputs[0].text = "Tamsin Orvel kept the logbook of the lighthouse.";
  inputs[1].text = "The keeper kept the logbook of the lighthouse.";
  ScoreParams params;
  params.explain = true;
  params.views = {ViewKind::kEntity};
  auto entity = (*r)->Score("Who is Tamsin Orvel?", inputs, nullptr, params);
  ASSERT_TRUE(entity.ok()) << entity.status();
  EXPECT_GT(entity->scores[0].detail.ScoreOf(ViewKind::kEntity), 0.0);
  EXPECT_THAT(entity->scores[0].detail.ReasonsOf(ViewKind::kEntity),
              ::testing::ElementsAre("Tamsin Orvel"));
  EXPECT_EQ(entity->scores[1].detail.ScoreOf(ViewKind::kEntity), 0.0);
  // Without the entity view the passages are scored by the others alone.
  params.views = {ViewKind::kLexical};
  auto lexical = (*r)->Score("Who is Tamsin Orvel?", inputs, nullptr, params);
  ASSERT_TRUE(lexical.ok()) << lexical.status();
  EXPECT_GT(lexical->scores[0].detail.fused, 0.0);
  EXPECT_EQ(lexical->scores[1].detail.fused, 0.0);
}

TEST(RetrieverScoreTest, BadRangesAreRefusedWithTheField) {
  auto r = MakeRetriever();
  const std::string context = "caf\xC3\xA9 society";
  const DocumentRef ctx{"", context};
  std::vector<ScoreInput> inputs(1);
  inputs[0].kind = ScoreInput::Kind::kByteRange;
  inputs[0].start = 4;  // Inside "é".
  inputs[0].end = 6;
  auto inside = r->Score("cafe", inputs, &ctx, {});
  EXPECT_EQ(inside.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(inside.status().message(), HasSubstr("byte offset 4"));
  EXPECT_EQ(FieldOf(inside.status())->field, RequestField::kPassageByteRange);
  inputs[0].kind = ScoreInput::Kind::kCharRange;
  inputs[0].start = 2;
  inputs[0].end = 99;
  auto past = r->Score("cafe", inputs, &ctx, {});
  EXPECT_THAT(past.status().message(), HasSubstr("within the 12 code points"));
  auto no_context = r->Score("cafe", inputs, nullptr, {});
  EXPECT_THAT(no_context.status().message(), HasSubstr("context"));
}

// A budgeted request that fuses only the dense view still spends its budget
// on the passages BM25 ranks highest, not on the document's first ones.
TEST(RetrieverDenseTest, BudgetFollowsBm25EvenWhenOnlyDenseIsAsked) {
  RetrieverConfig config;
  config.dense_model_path = PretrainedModelFolder("all-minilm-l6-v2");
  config.neural_budget_tokens = 1;  // One passage's worth, then stop.
  config.neural_candidates = 1;
  auto r = Retriever::Create(config);
  ASSERT_TRUE(r.ok()) << r.status();
  std::string doc;
  for (int i = 0; i < 30; ++i) {
    absl::StrAppend(&doc, "Filler paragraph ", i,
                    " talks about the weather and nothing else.\n\n");
  }
  doc += "The espresso grinder must be descaled every month.\n\n";
  RetrieveParams params;
  params.max_passage_tokens = 16;
  params.views = {ViewKind::kDense};
  auto result =
      (*r)->Retrieve("espresso grinder descaling", {{"d", doc}}, params);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->passages.size(), 1u);  // Only one passage was judged.
  EXPECT_THAT(Slice(doc, result->passages[0].span),
              ::testing::HasSubstr("espresso grinder"));
  EXPECT_GT(result->usage.unjudged_passages, 0u);
}

}  // namespace
}  // namespace attnr

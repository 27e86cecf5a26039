// The shipped configuration end to end: the real server with the pinned
// pretrained sentence encoder, talked to over gRPC and through the CLI.
#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/retriever_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/faq_document.h"
#include "tests/integration/test_server.h"

namespace attnr {
namespace {

using attnr::client::RetrieverClient;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(120);

// The manifest's pin for the model file the dense view loads.
std::string PinnedSha256() {
  std::ifstream in(std::string(std::getenv("ATTNR_SOURCE_DIR")) +
                   "/model/weights/pretrained-models.json");
  const auto manifest = nlohmann::json::parse(in);
  for (const auto& m : manifest["models"]) {
    if (m["name"] == "all-minilm-l6-v2") {
      return m["files"]["model.safetensors"].get<std::string>();
    }
  }
  return "";
}

// A long document: the paragraphs repeated with numbered variations, so
// its passages take far more than one request's budget to embed.
std::string LongDocument(const std::string& first_line) {
  std::string doc = first_line + "\n\n";
  for (int i = 0; i < 400; ++i) {
    absl::StrAppend(&doc, "Section ", i, ". ", kFaqParagraphs[i % 5], " ",
                    kFaqParagraphs[(i + 2) % 5], " Note ", i,
                    " closes this section.\n\n");
  }
  return doc;
}

class DenseServerTest : public ShippedServerTest<DenseServerTest, true> {};

// The default views' fused score is a calibrated probability (the
// calibrated fusion; Score and /v1/rerank candidates have their own
// calibration): the document that answers gets >= 0.5 and the unrelated
// ones < 0.5, as Cohere / TEI users threshold it.
TEST_F(DenseServerTest, RerankScoresAreProbabilities) {
  httplib::Client http("127.0.0.1", server_->http_port());
  const std::string body = R"({
    "query": "How do I change my password?",
    "documents": [
      "The museum opens at nine on weekdays and at ten on Sundays.",
      "To change your password, run passwd and type the old password, then the new one twice.",
      "Our football team trains every Tuesday evening behind the school."]})";
  auto res = http.Post("/v1/rerank", body, "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto answer = nlohmann::json::parse(res->body);
  std::vector<double> score(3, -1);
  for (const auto& r : answer["results"]) {
    score[r["index"].get<int>()] = r["relevance_score"].get<double>();
  }
  std::printf("relevance: %.3f %.3f %.3f\n", score[0], score[1], score[2]);
  EXPECT_EQ(answer["results"][0]["index"], 1);
  EXPECT_GE(score[1], 0.5);
  EXPECT_LT(score[0], 0.5);
  EXPECT_LT(score[2], 0.5);
  for (double s : score) {
    EXPECT_GT(s, 0.0);
    EXPECT_LT(s, 1.0);
  }
}

TEST_F(DenseServerTest, ModelInfoNamesThePinnedEncoder) {
  auto info = client_->GetModelInfo(kTimeout);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(info->views(), Contains(attnr::v1::SCORING_VIEW_DENSE));
  EXPECT_THAT(info->default_views(), Contains(attnr::v1::SCORING_VIEW_DENSE));
  bool found = false;
  for (const attnr::v1::LoadedModel& m : info->models()) {
    if (m.view() != attnr::v1::SCORING_VIEW_DENSE) continue;
    found = true;
    EXPECT_EQ(m.name(), "all-minilm-l6-v2");
    EXPECT_EQ(m.sha256(), PinnedSha256());
  }
  EXPECT_TRUE(found);
  EXPECT_GT(info->neural_budget_tokens(), 0u);
}

TEST_F(DenseServerTest, FindsTheAnswerThatSharesNoContentWordWithTheQuery) {
  attnr::v1::RetrieveRequest request;
  request.set_query("How can I lower my power costs?");
  request.add_documents()->set_text(FaqDocument(
      absl::StrCat("Household notes ", absl::ToUnixNanos(absl::Now()))));
  request.mutable_options()->set_max_passage_tokens(16);
  request.mutable_options()->set_explain(true);
  auto response = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_FALSE(response->passages().empty());
  EXPECT_THAT(response->passages(0).text(), HasSubstr("electricity bill"));
  const attnr::v1::ScoreBreakdown& b = response->passages(0).breakdown();
  EXPECT_EQ(b.lexical(), 0.0);  // No shared term: BM25 alone cannot.
  bool dense = false;
  for (const attnr::v1::ViewScore& v : b.view_scores()) {
    if (v.view() == attnr::v1::SCORING_VIEW_DENSE) {
      dense = true;
      EXPECT_GT(v.score(), 0.5);
    }
  }
  EXPECT_TRUE(dense);

  // The lexical view alone has no evidence for any passage.
  request.mutable_options()->add_views(attnr::v1::SCORING_VIEW_LEXICAL);
  auto lexical = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(lexical.ok());
  EXPECT_EQ(lexical->passages_size(), 0);
}

TEST_F(DenseServerTest, BudgetThenPrepareJudgesEveryPassage) {
  const std::string doc =
      LongDocument(absl::StrCat("Long notes ", absl::ToUnixNanos(absl::Now())));
  attnr::v1::RetrieveRequest request;
  request.set_query("How can I lower my power costs?");
  request.add_documents()->set_text(doc);
  auto cold = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(cold.ok()) << cold.status();
  EXPECT_GT(cold->usage().unjudged_passages(), 0u);
  EXPECT_FALSE(cold->usage().cache_hit());
  ASSERT_FALSE(cold->passages().empty());
  EXPECT_THAT(cold->passages(0).text(), HasSubstr("electricity bill"));

  attnr::v1::PrepareRequest prepare;
  *prepare.mutable_documents() = request.documents();
  auto prepared = client_->Prepare(prepare, kTimeout);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_THAT(prepared->views(), Contains(attnr::v1::SCORING_VIEW_DENSE));
  EXPECT_GT(prepared->usage().encoded_tokens(), 0u);

  auto warm = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(warm.ok()) << warm.status();
  EXPECT_EQ(warm->usage().unjudged_passages(), 0u);
  EXPECT_TRUE(warm->usage().cache_hit());
  EXPECT_LT(warm->usage().encoded_tokens(), 32u);  // The query only.

  // Preparing again finds everything cached.
  auto again = client_->Prepare(prepare, kTimeout);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->usage().encoded_tokens(), 0u);
  EXPECT_TRUE(again->usage().cache_hit());
}

TEST_F(DenseServerTest, CliPrepareAndRetrieveWithDenseScores) {
  const std::string path = WriteFile(
      "faq.txt",
      FaqDocument(absl::StrCat("CLI notes ", absl::ToUnixNanos(absl::Now()))));
  const std::string target = absl::StrCat(" --target ", server_->target());
  const CommandResult prepare = RunShell(
      absl::StrCat(ATTNR_CLI_BIN, " prepare --json --doc ", path, target));
  ASSERT_EQ(prepare.exit_code, 0) << prepare.err;
  EXPECT_GT(
      nlohmann::json::parse(prepare.out)["usage"]["encoded_tokens"].get<int>(),
      0);
  const CommandResult retrieve = RunShell(absl::StrCat(
      ATTNR_CLI_BIN, " retrieve --explain --max-passage-tokens 16 --doc ", path,
      " --query 'How can I lower my power costs?'", target));
  ASSERT_EQ(retrieve.exit_code, 0) << retrieve.err;
  EXPECT_THAT(retrieve.out, HasSubstr("dense 0."));
  EXPECT_THAT(retrieve.out, HasSubstr("electricity"));
}

TEST(DenseStartupTest, MissingOrMismatchedEncoderStopsStartupClearly) {
  const CommandResult missing = RunShell(
      absl::StrCat(ATTNR_SERVER_BIN, " --config ", ShippedConfig(),
                   " --listen 127.0.0.1:0 --dense_model /nonexistent/encoder"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/nonexistent/encoder"));

  // The shipped config pins a digest; a config naming another one refuses
  // the (genuine) model rather than serve something unverified.
  std::ifstream in(ShippedConfig());
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  const std::string pin = PinnedSha256();
  ASSERT_FALSE(pin.empty());
  config.replace(config.find(pin), pin.size(), std::string(64, '0'));
  const std::string path = WriteFile("pin-mismatch.textproto", config);
  const CommandResult mismatch = RunShell(absl::StrCat(
      ATTNR_SERVER_BIN, " --config ", path, " --listen 127.0.0.1:0"));
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_THAT(mismatch.err, HasSubstr("dense_model_sha256"));
}

}  // namespace
}  // namespace attnr

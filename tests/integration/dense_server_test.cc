// The shipped configuration end to end: the real server with the pinned
// pretrained sentence encoder, talked to over gRPC and through the CLI.
#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <map>
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

class DenseServerTest : public SharedServerTest<DenseServerTest, true> {};

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

// A request's own weights replace the server's for the views they name:
// weighting BM25 0 ranks as the dense view alone does (its scores then
// uncalibrated); a bad name, value or view is refused naming the field,
// over gRPC and HTTP.
TEST_F(DenseServerTest, ViewWeightsOverrideTheFusionPerRequest) {
  attnr::v1::RetrieveRequest request;
  request.set_query("When does the football team train at the museum?");
  request.add_documents()->set_text(FaqDocument(
      absl::StrCat("Weighted notes ", absl::ToUnixNanos(absl::Now()))));
  request.mutable_options()->set_max_passage_tokens(16);
  request.mutable_options()->set_top_k(5);
  auto ranges = [](const attnr::v1::RetrieveResponse& r) {
    std::vector<std::pair<uint32_t, uint32_t>> out;
    for (const auto& p : r.passages()) {
      out.emplace_back(p.range().start_char(), p.range().end_char());
    }
    return out;
  };
  attnr::v1::RetrieveRequest dense_only = request;
  dense_only.mutable_options()->add_views(attnr::v1::SCORING_VIEW_DENSE);
  auto dense = client_->Retrieve(dense_only, kTimeout);
  ASSERT_TRUE(dense.ok()) << dense.status();
  for (const auto& [weights, same_as_dense] :
       std::vector<std::pair<std::map<std::string, double>, bool>>{
           {{{"lexical", 0}, {"dense", 1}}, true},
           {{{"lexical", 1}, {"dense", 0}}, false}}) {
    attnr::v1::RetrieveRequest weighted = request;
    for (const auto& [view, w] : weights) {
      (*weighted.mutable_options()->mutable_view_weights())[view] = w;
    }
    auto r = client_->Retrieve(weighted, kTimeout);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_GE(r->passages_size(), 2);
    EXPECT_EQ(ranges(*r) == ranges(*dense), same_as_dense);
    // Ordered, in (0, 1).
    for (int i = 1; i < r->passages_size(); ++i) {
      EXPECT_LE(r->passages(i).score(), r->passages(i - 1).score());
    }
    EXPECT_LT(r->passages(0).score(), 1.0);
  }

  for (const auto& [weights, message] :
       std::vector<std::pair<std::map<std::string, double>, std::string>>{
           {{{"bogus", 1}}, "options.view_weights: 'bogus' is not a view name"},
           {{{"dense", -1}},
            "options.view_weights[\"dense\"]: -1 is not a weight"},
           {{{"llm", 1}}, "names llm, which this request does not fuse"},
           {{{"lexical", 0}, {"dense", 0}},
            "every fused view would weigh 0"}}) {
    attnr::v1::RetrieveRequest bad = request;
    for (const auto& [view, w] : weights) {
      (*bad.mutable_options()->mutable_view_weights())[view] = w;
    }
    auto r = client_->Retrieve(bad, kTimeout);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(r.status().message(), HasSubstr(message));
  }

  httplib::Client http("127.0.0.1", server_->http_port());
  auto post = [&](const std::string& weights) {
    return http.Post("/v1/retrieve",
                     R"({"query": "football", "documents": ["The team trains."],
                         "options": {"view_weights": )" +
                         weights + "}}",
                     "application/json");
  };
  auto ok = post(R"({"dense": 0.9, "lexical": 0.1})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto bad = post(R"({"dense": "high"})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(bad->body, HasSubstr("options.view_weights"));
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
  EXPECT_THAT(mismatch.err, HasSubstr("views.dense.model_sha256"));
}

// A device this machine cannot run on stops start-up naming it (a CPU
// build of LibTorch, or the CUDA build on a machine without a GPU),
// instead of failing at the first request.
TEST(DenseStartupTest, ACudaDeviceOnACpuBuildStopsStartupClearly) {
  const std::string path = WriteFile(
      "dense-cuda.textproto",
      "views { dense { model: \"all-minilm-l6-v2\" device: \"cuda\" } }\n");
  const CommandResult cuda = RunShell(absl::StrCat(
      ATTNR_SERVER_BIN, " --config ", path, " --listen 127.0.0.1:0"));
  EXPECT_EQ(cuda.exit_code, 1);
  EXPECT_THAT(cuda.err, HasSubstr("device 'cuda'"));
}

}  // namespace
}  // namespace attnr

// The LLM attention view end to end: the real server with the shipped
// configuration (the pinned SmolLM2 GGUF and the trained read-out), over
// gRPC and through the CLI; start-up refusals that name what is wrong.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

constexpr absl::Duration kTimeout = absl::Seconds(300);

std::string PinnedGgufSha256() {
  std::ifstream in(std::string(std::getenv("ATTNR_SOURCE_DIR")) +
                   "/model/weights/pretrained-models.json");
  const auto manifest = nlohmann::json::parse(in);
  for (const auto& m : manifest["models"]) {
    if (m["name"] == "smollm2-135m-instruct-q4_1") {
      return m["files"]["SmolLM2-135M-Instruct.Q4_1.gguf"].get<std::string>();
    }
  }
  return "";
}

class LlmServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    server_->Start("", {"--config", ShippedConfig()});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->error().empty()) << server_->error();
    client_ = std::make_unique<RetrieverClient>(server_->target());
  }
  static ServerProcess* server_;
  std::unique_ptr<RetrieverClient> client_;
};

ServerProcess* LlmServerTest::server_ = nullptr;

TEST_F(LlmServerTest, ModelInfoNamesThePinnedDecoder) {
  auto info = client_->GetModelInfo(kTimeout);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(info->views(), Contains(attnr::v1::SCORING_VIEW_LLM));
  bool found = false;
  for (const attnr::v1::LoadedModel& m : info->models()) {
    if (m.view() != attnr::v1::SCORING_VIEW_LLM) continue;
    found = true;
    EXPECT_EQ(m.name(), "SmolLM2-135M-Instruct.Q4_1");
    EXPECT_EQ(m.sha256(), PinnedGgufSha256());
  }
  EXPECT_TRUE(found);
}

TEST_F(LlmServerTest, ReadsCandidatesOnceAndRanksTheAnswer) {
  attnr::v1::RetrieveRequest request;
  request.set_query("How can I make my electricity bill smaller?");
  request.add_documents()->set_text(FaqDocument(
      absl::StrCat("Household notes ", absl::ToUnixNanos(absl::Now()))));
  request.mutable_options()->set_max_passage_tokens(16);
  request.mutable_options()->set_explain(true);
  request.mutable_options()->add_views(attnr::v1::SCORING_VIEW_LLM);
  auto first = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->passages().empty());
  EXPECT_THAT(first->passages(0).text(), HasSubstr("electricity bill"));
  EXPECT_GT(first->usage().encoded_tokens(), 40u);  // Passages and question.
  EXPECT_FALSE(first->usage().cache_hit());
  for (const auto& p : first->passages()) {
    bool llm = false;
    for (const attnr::v1::ViewScore& v : p.breakdown().view_scores()) {
      if (v.view() != attnr::v1::SCORING_VIEW_LLM) continue;
      llm = true;
      EXPECT_GT(v.score(), 0.0);
      EXPECT_LT(v.score(), 1.0);
      EXPECT_THAT(absl::StrJoin(v.reasons(), " "),
                  HasSubstr("attention read-out"));
    }
    EXPECT_TRUE(llm);
  }
  // Asked again: the passages' keys and values are cached; only the
  // question is run, and the ranking is the same.
  auto again = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->usage().cache_hit());
  EXPECT_LT(again->usage().encoded_tokens(), 40u);
  ASSERT_EQ(again->passages_size(), first->passages_size());
  for (int i = 0; i < again->passages_size(); ++i) {
    EXPECT_EQ(again->passages(i).range().start_byte(),
              first->passages(i).range().start_byte());
  }
}

TEST_F(LlmServerTest, CliRetrieveThroughTheLlmView) {
  const std::string path = WriteFile(
      "llm-faq.txt",
      FaqDocument(absl::StrCat("CLI notes ", absl::ToUnixNanos(absl::Now()))));
  const CommandResult retrieve = RunShell(absl::StrCat(
      ATTNR_CLI_BIN, " retrieve --explain --views llm --max-passage-tokens 16",
      " --doc ", path, " --query 'When does the museum open on Sundays?'",
      " --target ", server_->target()));
  ASSERT_EQ(retrieve.exit_code, 0) << retrieve.err;
  EXPECT_THAT(retrieve.out, HasSubstr("llm 0."));
  EXPECT_THAT(retrieve.out, HasSubstr("museum"));
}

TEST(LlmStartupTest, AnotherModelOrADamagedReadoutStopsStartupClearly) {
  // A GGUF file without a tokenizer (the reader's test file).
  const std::string tiny =
      std::string(std::getenv("ATTNR_SOURCE_DIR")) + "/tests/vectors/tiny.gguf";
  const CommandResult other =
      RunShell(absl::StrCat(ATTNR_SERVER_BIN, " --config ", ShippedConfig(),
                            " --listen 127.0.0.1:0 --llm_model ", tiny));
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.err, HasSubstr("tokenizer.ggml.model"));

  // The shipped read-out with one number changed.
  std::ifstream config_in(ShippedConfig());
  std::stringstream config_text;
  config_text << config_in.rdbuf();
  std::string config = config_text.str();
  const std::string key = "llm_readout: \"";
  const size_t at = config.find(key);
  ASSERT_NE(at, std::string::npos);
  const size_t end = config.find('"', at + key.size());
  const std::string shipped =
      ShippedConfig().substr(0, ShippedConfig().rfind('/') + 1) +
      config.substr(at + key.size(), end - at - key.size());
  std::ifstream readout_in(shipped);
  ASSERT_TRUE(readout_in) << shipped;
  nlohmann::json readout = nlohmann::json::parse(readout_in);
  readout["weights"][0] = readout["weights"][0].get<double>() + 0.5;
  const std::string damaged = WriteFile("damaged-readout.json", readout.dump());
  config.replace(at, end + 1 - at, absl::StrCat(key, damaged, "\""));
  const std::string path = WriteFile("llm-damaged.textproto", config);
  const CommandResult bad = RunShell(absl::StrCat(
      ATTNR_SERVER_BIN, " --config ", path, " --listen 127.0.0.1:0"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("payload_sha256"));
}

}  // namespace
}  // namespace attnr

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

class LlmServerTest : public SharedServerTest<LlmServerTest> {};

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

TEST_F(LlmServerTest, SentenceExplanationsCarryTheLlmAttention) {
  // More passages than the LLM's 16 candidates, so some are not read.
  std::string doc = FaqDocument(
      absl::StrCat("Heatmap notes ", absl::ToUnixNanos(absl::Now())));
  for (int i = 1; i <= 30; ++i) {
    absl::StrAppend(&doc, "The archive room on floor ", i,
                    " keeps the ledgers of the year ", 1900 + i, ".\n\n");
  }
  attnr::v1::RetrieveRequest request;
  request.set_query("How can I make my electricity bill smaller?");
  request.add_documents()->set_text(doc);
  request.mutable_options()->set_max_passage_tokens(16);
  request.mutable_options()->set_explain_level(attnr::v1::EXPLAIN_SENTENCES);
  request.mutable_options()->add_views(attnr::v1::SCORING_VIEW_LEXICAL);
  request.mutable_options()->add_views(attnr::v1::SCORING_VIEW_LLM);
  auto r = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->explanations_size(), 1);
  const attnr::v1::DocumentExplanation& e = r->explanations(0);
  ASSERT_GT(e.sentences_size(), 30);
  // The sentences tile the document in order, each a real slice of it.
  uint32_t previous_end = 0;
  int read = 0;
  double best = 0;
  int best_sentence = -1;
  for (int s = 0; s < e.sentences_size(); ++s) {
    const attnr::v1::TextRange& range = e.sentences(s).range();
    EXPECT_GE(range.start_byte(), previous_end);
    EXPECT_LT(range.start_byte(), range.end_byte());
    EXPECT_LE(range.end_byte(), doc.size());
    previous_end = range.end_byte();
    if (!e.sentences(s).has_attention()) continue;
    ++read;
    EXPECT_GE(e.sentences(s).attention(), 0.0);
    EXPECT_LE(e.sentences(s).attention(), 1.0);
    if (e.sentences(s).attention() > best) {
      best = e.sentences(s).attention();
      best_sentence = s;
    }
  }
  // The LLM read its candidates, not the whole document (the budget).
  EXPECT_GT(read, 0);
  EXPECT_LT(read, e.sentences_size());
  EXPECT_THAT(e.note(), HasSubstr(absl::StrCat("the LLM read ", read, " of ")));
  // Every sentence of the top passage was read, and the sentence the
  // question attends to most lies in a passage the LLM read.
  const attnr::v1::TextRange& top = r->passages(0).range();
  for (const auto& s : e.sentences()) {
    if (s.range().start_byte() >= top.start_byte() &&
        s.range().end_byte() <= top.end_byte()) {
      EXPECT_TRUE(s.has_attention()) << s.range().start_byte();
    }
  }
  ASSERT_GE(best_sentence, 0);
  // Scores are there too (EXPLAIN_SENTENCES includes EXPLAIN_SCORES).
  EXPECT_GT(r->passages(0).breakdown().view_scores_size(), 0);

  // Without the LLM view the sentences come back with no attention and a
  // note that says why; without explain_level none at all.
  request.mutable_options()->clear_views();
  request.mutable_options()->add_views(attnr::v1::SCORING_VIEW_LEXICAL);
  auto lexical = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(lexical.ok()) << lexical.status();
  ASSERT_EQ(lexical->explanations_size(), 1);
  EXPECT_EQ(lexical->explanations(0).sentences_size(), e.sentences_size());
  for (const auto& s : lexical->explanations(0).sentences()) {
    EXPECT_FALSE(s.has_attention());
  }
  EXPECT_THAT(lexical->explanations(0).note(),
              HasSubstr("not among the request's views"));
  request.mutable_options()->clear_explain_level();
  auto lean = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(lean.ok()) << lean.status();
  EXPECT_EQ(lean->explanations_size(), 0);
  EXPECT_FALSE(lean->passages(0).has_breakdown());

  // An out-of-range level is refused, naming the field.
  request.mutable_options()->set_explain_level(
      static_cast<attnr::v1::ExplainLevel>(9));
  auto bad = client_->Retrieve(request, kTimeout);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("options.explain_level"));
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

TEST_F(LlmServerTest, CliPrintsTheSentencesTheQuestionAttendedTo) {
  const std::string doc =
      FaqDocument(absl::StrCat("CLI heatmap ", absl::ToUnixNanos(absl::Now())));
  const std::string path = WriteFile("llm-heat.txt", doc);
  const std::string command = absl::StrCat(
      ATTNR_CLI_BIN, " retrieve --explain=sentences --views lexical,llm",
      " --max-passage-tokens 16 --doc ", path,
      " --query 'When does the museum open on Sundays?' --target ",
      server_->target());
  const CommandResult table = RunShell(command);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr(absl::StrCat("attention in ", path, ": ")));
  EXPECT_THAT(table.out, HasSubstr("sentences read by the LLM; the most "
                                   "attended:"));
  // The most attended sentence is printed from the document itself, and the
  // museum's opening hours draw the question's attention.
  const size_t listed = table.out.find("the most attended:");
  ASSERT_NE(listed, std::string::npos);
  EXPECT_THAT(table.out.substr(listed), HasSubstr("museum"));

  // --json carries every sentence with its range and attention.
  const CommandResult json = RunShell(absl::StrCat(command, " --json"));
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto parsed = nlohmann::json::parse(json.out);
  ASSERT_EQ(parsed["explanations"].size(), 1u);
  const auto& sentences = parsed["explanations"][0]["sentences"];
  ASSERT_GT(sentences.size(), 5u);
  int attended = 0;
  for (const auto& sentence : sentences) {
    const uint32_t start = sentence["range"]["start_byte"];
    const uint32_t end = sentence["range"]["end_byte"];
    EXPECT_LT(start, end);
    EXPECT_LE(end, doc.size());
    if (sentence.contains("attention")) ++attended;
  }
  EXPECT_GT(attended, 0);
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
  const std::string key = "readout: \"";  // views { llm { readout: ... } }
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

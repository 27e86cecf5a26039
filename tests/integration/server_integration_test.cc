// Starts the real attnr-server binary on an ephemeral loopback port and
// exercises every RPC through the generated stub (via the client library)
// and through the `attnr` CLI, including the error paths.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/retriever_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/text/utf8.h"
#include "reflection_probe.grpc.pb.h"
#include "tests/integration/test_server.h"

namespace attnr {
namespace {

using attnr::client::RetrieverClient;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kTimeout = absl::Seconds(30);

// A long document (~25k words) with multi-byte text and emoji, and three
// answer sentences planted at known places.
std::string LongDocument() {
  static const std::string doc = [] {
    std::string d = "# Caf\xC3\xA9 handbook \xE2\x98\x95\n\n";
    const char* filler[] = {
        "The committee reviewed the quarterly figures in detail. ",
        "Na\xC3\xAFve estimates were replaced by careful measurements. ",
        "Visitors enjoyed the garden \xF0\x9F\x8C\xB7 and the old library. ",
        "Each chapter ends with a short summary of its main points. ",
        "Dr. Jones noted that the results were consistent, e.g. across "
        "sites. "};
    for (int section = 0; section < 120; ++section) {
      d += absl::StrCat("## Section ", section, "\n\n");
      for (int para = 0; para < 4; ++para) {
        for (int s = 0; s < 5; ++s) d += filler[(section + para + s) % 5];
        if (section == 77 && para == 2) {
          d += "The espresso grinder must be descaled every fourteen days. ";
        }
        d += "\n\n";
      }
    }
    return d;
  }();
  return doc;
}

std::string Cli(const std::string& args) {
  return absl::StrCat(ATTNR_CLI_BIN, " ", args);
}

constexpr const char* kConfig = kSmallLimitsConfig;

class ServerIntegrationTest : public SharedServerTest<ServerIntegrationTest> {
 public:
  static std::string ServerConfig() { return kConfig; }

 protected:
  std::string target_flag() const {
    return absl::StrCat("--target ", server_->target());
  }
};

// Checks that `range` slices `text` to exactly `expected`, by bytes and by
// code points.
void ExpectRangeSlices(const std::string& text, uint32_t start_char,
                       uint32_t end_char, uint32_t start_byte,
                       uint32_t end_byte, const std::string& expected) {
  ASSERT_LE(end_byte, text.size());
  EXPECT_EQ(text.substr(start_byte, end_byte - start_byte), expected);
  const text::Utf8Index index(text);
  EXPECT_EQ(index.ByteAt(start_char), start_byte);
  EXPECT_EQ(index.ByteAt(end_char), end_byte);
  EXPECT_EQ(end_char - start_char, text::CountCodePoints(expected));
}

TEST_F(ServerIntegrationTest, HealthIsServing) {
  auto status = client_->Health("", kTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(*status, grpc::health::v1::HealthCheckResponse::SERVING);
  const CommandResult cli = RunShell(Cli("health " + target_flag()));
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, "SERVING\n");
}

TEST_F(ServerIntegrationTest, ReflectionListsTheServices) {
  auto channel = grpc::CreateChannel(server_->target(),
                                     grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> names;
  for (const auto& s : response.list_services_response().service()) {
    names.push_back(s.name());
  }
  EXPECT_THAT(names, ::testing::IsSupersetOf(
                         {"attnr.v1.Retriever", "grpc.health.v1.Health"}));
  while (stream->Read(&response)) {
  }
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ServerIntegrationTest, ModelInfoDescribesViewsAndLimits) {
  auto info = client_->GetModelInfo(kTimeout);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->name().empty());
  EXPECT_THAT(info->views(),
              ::testing::Contains(attnr::v1::SCORING_VIEW_LEXICAL));
  EXPECT_EQ(info->limits().max_documents(), 3u);
  EXPECT_EQ(info->limits().max_top_k(), 20u);
  EXPECT_EQ(info->limits().max_message_bytes(), 4194304u);

  const CommandResult cli = RunShell(Cli("info --json " + target_flag()));
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const auto j = nlohmann::json::parse(cli.out);
  EXPECT_EQ(j["name"], info->name());
  EXPECT_EQ(j["limits"]["max_score_passages"], 10);
  const CommandResult table = RunShell(Cli("info " + target_flag()));
  EXPECT_THAT(table.out, HasSubstr("LEXICAL"));
}

TEST_F(ServerIntegrationTest, RetrieveRanksTheAnswerWithExactRanges) {
  const std::string doc = LongDocument();
  attnr::v1::RetrieveRequest request;
  request.set_query("How often must the espresso grinder be descaled?");
  attnr::v1::Document* d = request.add_documents();
  d->set_id("handbook");
  d->set_text(doc);
  request.mutable_options()->set_top_k(3);
  request.mutable_options()->set_explain(true);
  auto response = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_FALSE(response->passages().empty());
  const attnr::v1::Passage& top = response->passages(0);
  EXPECT_EQ(top.rank(), 1u);
  EXPECT_EQ(top.document_id(), "handbook");
  EXPECT_THAT(top.text(), HasSubstr("descaled every fourteen days"));
  EXPECT_EQ(top.origin(), attnr::v1::Passage::QUERY_MATCH);
  EXPECT_GT(top.breakdown().lexical(), 0.0);
  EXPECT_THAT(top.breakdown().matched_terms(),
              ::testing::IsSupersetOf({"espresso", "grinder", "descaled"}));
  for (const attnr::v1::Passage& p : response->passages()) {
    const auto& r = p.range();
    ExpectRangeSlices(doc, r.start_char(), r.end_char(), r.start_byte(),
                      r.end_byte(), p.text());
  }
  EXPECT_GT(response->usage().document_tokens(), 20000u);
  EXPECT_GT(response->usage().timings().total_ms(), 0.0);
  EXPECT_FALSE(response->model().empty());

  // Without text, the ranges are still there.
  request.mutable_options()->set_return_text(false);
  auto bare = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->passages(0).text().empty());
  EXPECT_EQ(bare->passages(0).range().start_byte(), top.range().start_byte());
}

// The retrieval scope: the answer shares no word with the question and is
// reached only through the entity its matching sentence names.
TEST_F(ServerIntegrationTest, EntityScopeReachesTheAnswerThroughABridge) {
  std::string doc;
  auto filler = [&doc](int n) {
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&doc,
                      "The weather report listed rain and wind for the "
                      "coast, with calmer seas later. ");
      if (i % 4 == 3) doc += "\n\n";
    }
  };
  filler(24);
  doc +=
      "Quenornska Thethe worked closely with Mundlin Garvikan on the "
      "Turskane project.\n\n";
  filler(24);
  const std::string answer = "Mundlin Garvikan grew up in Skaith Falls.";
  const size_t answer_at = doc.size();
  doc += answer + "\n\n";
  filler(24);

  attnr::v1::RetrieveRequest request;
  request.set_query(
      "Where did the colleague of Quenornska Thethe spend childhood?");
  request.add_documents()->set_text(doc);
  request.mutable_options()->set_entity_scope(true);
  auto scoped = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(scoped.ok()) << scoped.status();
  ASSERT_GE(scoped->passages_size(), 2);
  EXPECT_EQ(scoped->passages(0).origin(), attnr::v1::Passage::QUERY_MATCH);
  EXPECT_THAT(scoped->passages(0).text(), HasSubstr("Quenornska Thethe"));
  const attnr::v1::Passage& reached = scoped->passages(1);
  EXPECT_EQ(reached.origin(), attnr::v1::Passage::ENTITY_SCOPE);
  EXPECT_THAT(reached.entities(), ::testing::ElementsAre("Mundlin Garvikan"));
  EXPECT_LE(reached.range().start_byte(), answer_at);
  EXPECT_GE(reached.range().end_byte(), answer_at + answer.size());
  EXPECT_EQ(
      doc.substr(reached.range().start_byte(),
                 reached.range().end_byte() - reached.range().start_byte()),
      reached.text());

  // Without the scope the answer is not returned at all (no shared word).
  request.mutable_options()->set_entity_scope(false);
  auto plain = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(plain.ok()) << plain.status();
  for (const auto& p : plain->passages()) {
    EXPECT_EQ(p.origin(), attnr::v1::Passage::QUERY_MATCH);
    EXPECT_THAT(p.text(), ::testing::Not(HasSubstr("Skaith Falls")));
  }
}

TEST_F(ServerIntegrationTest, GrowRangesReturnsTheWholeAnswerWithExactRanges) {
  // Multi-byte text before and inside the answer, which runs over two
  // paragraphs of one 16-token passage each.
  const std::string first =
      "To descale the caf\xC3\xA9's espresso machine, fill the tank with "
      "descaler.";
  const std::string second =
      "Then run the espresso machine \xE2\x80\x94 until the descaler tank "
      "is empty.";
  const std::string doc =
      "\xF0\x9F\x93\x9A Coffee beans come from many countries around the "
      "world.\n\n" +
      first + "\n\n" + second +
      "\n\nTea is grown mostly in China, India and Kenya these days.\n";
  attnr::v1::RetrieveRequest request;
  request.set_query("descale espresso machine descaler tank");
  request.add_documents()->set_text(doc);
  request.mutable_options()->set_max_passage_tokens(16);
  request.mutable_options()->set_grow_ranges(true);
  auto grown = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(grown.ok()) << grown.status();
  ASSERT_EQ(grown->passages_size(), 1);
  const attnr::v1::Passage& p = grown->passages(0);
  EXPECT_EQ(p.text(), first + "\n\n" + second);
  EXPECT_EQ(p.sentences(), 2u);
  EXPECT_EQ(p.range().start_byte(), doc.find(first));
  EXPECT_EQ(p.range().end_byte(), doc.find(second) + second.size());
  // Code points: the emoji is 1 (4 bytes), "é" 1 (2), the dash 1 (3).
  EXPECT_EQ(p.range().start_char(), doc.find(first) - 3);
  EXPECT_EQ(p.range().end_char(), doc.find(second) + second.size() - 3 - 1 - 2);

  request.mutable_options()->set_grow_ranges(false);
  auto plain = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->passages_size(), 2);

  // The CLI's flag reaches the same option.
  const std::string path = WriteFile("descale.txt", doc);
  const CommandResult cli = RunShell(Cli(absl::StrCat(
      "retrieve --json --grow-ranges --max-passage-tokens 16 --doc ", path,
      " --query 'descale espresso machine descaler tank' ", target_flag())));
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const auto j = nlohmann::json::parse(cli.out);
  ASSERT_EQ(j["passages"].size(), 1u);
  EXPECT_EQ(j["passages"][0]["text"], first + "\n\n" + second);
}

TEST_F(ServerIntegrationTest, CliRetrieveJsonRangesSliceTheDocument) {
  const std::string doc = LongDocument();
  const std::string path = WriteFile("handbook.md", doc);
  const CommandResult cli = RunShell(Cli(
      absl::StrCat("retrieve --json --top-k 4 --timeout 20.5 --doc ", path,
                   " --query 'espresso grinder descaled' ", target_flag())));
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const auto j = nlohmann::json::parse(cli.out);
  ASSERT_GE(j["passages"].size(), 1u);
  for (const auto& p : j["passages"]) {
    const auto& r = p["range"];
    ExpectRangeSlices(doc, r["start_char"], r["end_char"], r["start_byte"],
                      r["end_byte"], p["text"]);
    EXPECT_EQ(p["document_id"], path);
  }
  // Default values are printed and proto field names are kept.
  EXPECT_TRUE(j["usage"].contains("cache_hit"));
  // Counts are JSON numbers (64-bit integers would print as strings).
  EXPECT_TRUE(j["usage"]["document_tokens"].is_number());
  EXPECT_TRUE(j["passages"][0].contains("document_index"));

  // The readable table names rank, score and range.
  const CommandResult table = RunShell(Cli(absl::StrCat(
      "retrieve --doc ", path, " --query 'espresso grinder' ", target_flag())));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("rank"));
  EXPECT_THAT(table.out, HasSubstr("espresso grinder"));
}

TEST_F(ServerIntegrationTest, CliBatchQueriesCarryQidAndStdinDocs) {
  const std::string doc = LongDocument();
  const std::string doc_path = WriteFile("batch_doc.md", doc);
  const std::string queries = WriteFile(
      "queries.jsonl",
      "{\"qid\": \"q1\", \"query\": \"espresso grinder\", \"gold\": [1]}\n"
      "\n"
      "{\"query\": \"garden library visitors\"}\n"
      "{\"qid\": 7, \"query\": \"quarterly figures committee\"}\n");
  const CommandResult cli = RunShell(
      absl::StrCat("cat ", doc_path, " | ",
                   Cli(absl::StrCat("retrieve --json --doc - --queries ",
                                    queries, " ", target_flag()))));
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  std::istringstream lines(cli.out);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(lines, line);) {
    out.push_back(nlohmann::json::parse(line));
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0]["qid"], "q1");
  EXPECT_FALSE(out[1].contains("qid"));
  EXPECT_EQ(out[2]["qid"], 7);
  EXPECT_EQ(out[0]["passages"][0]["document_id"], "stdin");
  EXPECT_THAT(out[0]["passages"][0]["text"].get<std::string>(),
              HasSubstr("espresso grinder"));
  // The line itself starts with qid.
  EXPECT_EQ(cli.out.rfind("{\"qid\":\"q1\"", 0), 0u);
}

TEST_F(ServerIntegrationTest, ScoreTextsAndRangesInOrder) {
  const std::string doc = LongDocument();
  const std::string answer =
      "The espresso grinder must be descaled every fourteen days.";
  const size_t at = doc.find(answer);
  ASSERT_NE(at, std::string::npos);
  attnr::v1::ScoreRequest request;
  request.set_query("how often is the espresso grinder descaled");
  request.add_passages()->set_text("The committee reviewed the figures.");
  attnr::v1::Span* bytes = request.add_passages()->mutable_byte_range();
  bytes->set_start(at);
  bytes->set_end(at + answer.size());
  const text::Utf8Index index(doc);
  attnr::v1::Span* chars = request.add_passages()->mutable_char_range();
  chars->set_start(index.CharAt(at));
  chars->set_end(index.CharAt(at + answer.size()));
  request.mutable_context()->set_text(doc);
  request.mutable_options()->set_explain(true);
  auto response = client_->Score(request, kTimeout);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->scores_size(), 3);
  EXPECT_EQ(response->scores(0).index(), 0u);
  EXPECT_EQ(response->scores(0).score(), 0.0);
  EXPECT_GT(response->scores(1).score(), 0.0);
  EXPECT_DOUBLE_EQ(response->scores(1).score(), response->scores(2).score());
  EXPECT_EQ(response->scores(2).range().start_byte(), at);
  EXPECT_EQ(response->scores(1).range().start_char(), index.CharAt(at));
  EXPECT_THAT(response->scores(1).breakdown().matched_terms(),
              ::testing::Contains("espresso"));

  const std::string path = WriteFile("score_ctx.md", doc);
  const CommandResult cli = RunShell(Cli(absl::StrCat(
      "score --json --query 'espresso grinder' --passage 'unrelated words' "
      "--context ",
      path, " --byte-range ", at, ":", at + answer.size(), " ",
      target_flag())));
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const auto j = nlohmann::json::parse(cli.out);
  ASSERT_EQ(j["scores"].size(), 2u);
  EXPECT_EQ(j["scores"][0]["score"], 0.0);
  EXPECT_GT(j["scores"][1]["score"].get<double>(), 0.0);
}

// Every refusal: the right code and a message naming the field or limit.
struct ErrorCase {
  const char* name;
  std::function<void(attnr::v1::RetrieveRequest*)> mutate;
  absl::StatusCode code;
  const char* message;
};

TEST_F(ServerIntegrationTest, RetrieveRefusesBadRequestsClearly) {
  const std::vector<ErrorCase> cases = {
      {"empty query", [](auto* r) { r->set_query("  "); },
       absl::StatusCode::kInvalidArgument, "query: is empty"},
      {"punctuation query", [](auto* r) { r->set_query("?!"); },
       absl::StatusCode::kInvalidArgument, "query: contains no words"},
      {"no documents", [](auto* r) { r->clear_documents(); },
       absl::StatusCode::kInvalidArgument, "at least one document"},
      {"empty document", [](auto* r) { r->add_documents(); },
       absl::StatusCode::kInvalidArgument, "documents[1].text: is empty"},
      {"whitespace-only document",
       [](auto* r) { r->add_documents()->set_text(" \n\t \r\n "); },
       absl::StatusCode::kInvalidArgument,
       "documents[1].text: is empty or only whitespace"},
      {"invalid UTF-8 query",
       [](auto* r) { r->set_query("espresso \xE2\x82 grinder"); },
       absl::StatusCode::kInvalidArgument,
       "query: invalid UTF-8 at byte offset 9"},
      {"invalid UTF-8 id",
       [](auto* r) { r->mutable_documents(0)->set_id("doc\xFF"); },
       absl::StatusCode::kInvalidArgument,
       "documents[0].id: invalid UTF-8 at byte offset 3"},
      {"long id",
       [](auto* r) { r->mutable_documents(0)->set_id(std::string(65, 'i')); },
       absl::StatusCode::kInvalidArgument,
       "documents[0].id: 65 bytes, over the limit of 64 "
       "(max_document_id_bytes)"},
      {"query bytes", [](auto* r) { r->set_query(std::string(513, 'q')); },
       absl::StatusCode::kResourceExhausted,
       "query: 513 bytes, over the limit of 512 (max_query_bytes)"},
      {"document bytes",
       [](auto* r) {
         r->mutable_documents(0)->set_text(std::string((2 << 20) + 1, 'x'));
       },
       absl::StatusCode::kResourceExhausted,
       "documents[0].text: 2097153 bytes, over the limit of 2097152 "
       "(max_document_bytes)"},
      {"request bytes",
       [](auto* r) {
         r->mutable_documents(0)->set_text(std::string(2 << 20, 'x'));
         r->add_documents()->set_text(std::string(1 << 20, 'x'));
       },
       absl::StatusCode::kResourceExhausted, "(max_request_bytes)"},
      {"sentences",
       [](auto* r) {
         std::string marks;
         for (int i = 0; i < 20001; ++i) marks += "!\n";
         r->mutable_documents(0)->set_text(marks);
       },
       absl::StatusCode::kResourceExhausted,
       "documents[0]: has more sentences than the limit of 20000 "
       "(max_document_sentences)"},
      {"too many documents",
       [](auto* r) {
         for (int i = 0; i < 3; ++i) r->add_documents()->set_text("more");
       },
       absl::StatusCode::kResourceExhausted, "(max_documents)"},
      {"top_k", [](auto* r) { r->mutable_options()->set_top_k(21); },
       absl::StatusCode::kInvalidArgument, "options.top_k: 21"},
      {"passage tokens",
       [](auto* r) { r->mutable_options()->set_max_passage_tokens(257); },
       absl::StatusCode::kInvalidArgument, "options.max_passage_tokens"},
      {"overlap",
       [](auto* r) { r->mutable_options()->set_overlap_sentences(5); },
       absl::StatusCode::kInvalidArgument, "options.overlap_sentences"},
      {"unavailable view",
       [](auto* r) {
         r->mutable_options()->add_views(attnr::v1::SCORING_VIEW_ENTITY);
       },
       absl::StatusCode::kInvalidArgument, "ENTITY is not served"},
      {"unspecified view",
       [](auto* r) {
         r->mutable_options()->add_views(attnr::v1::SCORING_VIEW_UNSPECIFIED);
       },
       absl::StatusCode::kInvalidArgument, "options.views[0]"},
      {"invalid UTF-8",
       [](auto* r) {
         r->mutable_documents(0)->set_text(std::string("ok text \xC3\x28 x"));
       },
       absl::StatusCode::kInvalidArgument,
       "documents[0]: invalid UTF-8 at byte offset 8"},
      {"query tokens",
       [](auto* r) {
         std::string q;
         for (int i = 0; i < 40; ++i) q += "word ";
         r->set_query(q);
       },
       absl::StatusCode::kResourceExhausted, "(max_query_tokens)"},
      {"document tokens",
       [](auto* r) {
         std::string big;
         for (int i = 0; i < 61000; ++i) big += "w ";
         r->mutable_documents(0)->set_text(big);
       },
       absl::StatusCode::kResourceExhausted,
       "documents[0]: has more tokens than the limit of 60000 "
       "(max_document_tokens)"},
      {"request tokens",
       [](auto* r) {
         std::string big;
         for (int i = 0; i < 55000; ++i) big += "w ";
         r->mutable_documents(0)->set_text(big);
         r->add_documents()->set_text(big);
       },
       absl::StatusCode::kResourceExhausted, "(max_request_tokens)"},
      {"message size",
       [](auto* r) {
         r->mutable_documents(0)->set_text(std::string(5 << 20, 'x'));
       },
       absl::StatusCode::kResourceExhausted, ""},
  };
  for (const ErrorCase& c : cases) {
    attnr::v1::RetrieveRequest request;
    request.set_query("espresso grinder");
    request.add_documents()->set_text("The espresso grinder is here.");
    c.mutate(&request);
    auto response = client_->Retrieve(request, kTimeout);
    EXPECT_EQ(response.status().code(), c.code)
        << c.name << ": " << response.status();
    EXPECT_THAT(response.status().message(), HasSubstr(c.message)) << c.name;
  }
}

TEST_F(ServerIntegrationTest, ScoreRefusesBadRequestsClearly) {
  attnr::v1::ScoreRequest request;
  request.set_query("espresso");
  auto none = client_->Score(request, kTimeout);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("passages"));

  request.add_passages();  // No source set.
  auto unset = client_->Score(request, kTimeout);
  EXPECT_THAT(unset.status().message(),
              HasSubstr("passages[0]: set one of text, char_range"));

  request.clear_passages();
  request.add_passages()->mutable_char_range()->set_end(5);
  auto no_context = client_->Score(request, kTimeout);
  EXPECT_EQ(no_context.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_context.status().message(), HasSubstr("context"));

  request.mutable_context()->set_text("short");
  request.mutable_passages(0)->mutable_char_range()->set_end(50);
  auto past = client_->Score(request, kTimeout);
  EXPECT_THAT(past.status().message(),
              HasSubstr("passages[0].char_range: [0, 50)"));

  request.clear_passages();
  request.add_passages()->set_text("espresso");
  request.mutable_context()->set_text("");
  auto empty_context = client_->Score(request, kTimeout);
  EXPECT_EQ(empty_context.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty_context.status().message(),
              HasSubstr("context.text: is empty or only whitespace"));
  request.clear_context();

  request.clear_passages();
  for (int i = 0; i < 11; ++i) request.add_passages()->set_text("x");
  auto many = client_->Score(request, kTimeout);
  EXPECT_EQ(many.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(many.status().message(), HasSubstr("(max_score_passages)"));
}

TEST_F(ServerIntegrationTest, ExpiredDeadlineIsDeadlineExceeded) {
  attnr::v1::RetrieveRequest request;
  request.set_query("espresso");
  request.add_documents()->set_text(LongDocument());
  auto response = client_->Retrieve(request, absl::Microseconds(1));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ServerIntegrationTest, CliReportsServerErrorsWithCodeAndExitStatus) {
  const std::string bad = WriteFile("bad.txt", "fine start \xFF bad byte");
  const CommandResult cli = RunShell(Cli(absl::StrCat(
      "retrieve --doc ", bad, " --query espresso ", target_flag())));
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_THAT(cli.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(cli.err, HasSubstr("invalid UTF-8 at byte offset 11"));

  // Text fields are proto `string`s: the CLI sends the file as it is and
  // the server names the field and offset; protobuf says nothing of it.
  EXPECT_THAT(cli.err, Not(HasSubstr("libprotobuf")));

  const std::string good = WriteFile("good.txt", "fine start, good bytes");
  const CommandResult topk = RunShell(
      Cli(absl::StrCat("retrieve --doc ", good,
                       " --query espresso --top-k 500 ", target_flag())));
  EXPECT_EQ(topk.exit_code, 1);
  EXPECT_THAT(topk.err, HasSubstr("options.top_k"));

  // A query is a proto `string`: the CLI checks its UTF-8 before sending.
  const CommandResult query = RunShell(
      Cli(absl::StrCat("retrieve --doc ", bad,
                       " --query \"$(printf 'caf\\351')\" ", target_flag())));
  EXPECT_EQ(query.exit_code, 2);
  EXPECT_THAT(query.err, HasSubstr("--query: invalid UTF-8 at byte offset 3"));

  const CommandResult usage =
      RunShell(Cli("retrieve --query x " + target_flag()));
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--doc"));

  const CommandResult missing = RunShell(
      Cli("retrieve --doc /nonexistent/file --query x " + target_flag()));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("cannot read /nonexistent/file"));

  // Nothing listens on port 1 of loopback.
  const CommandResult down =
      RunShell(Cli("health --timeout 2 --target 127.0.0.1:1"));
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(ServerIntegrationTest, AccessLogHasOneLinePerRequest) {
  auto info = client_->GetModelInfo(kTimeout);
  ASSERT_TRUE(info.ok());
  attnr::v1::RetrieveRequest empty_query;
  empty_query.add_documents()->set_text("text");
  EXPECT_FALSE(client_->Retrieve(empty_query, kTimeout).ok());
  // Written when gRPC is done with the call, just after the client has it.
  const std::string log =
      server_->LogWith("access method=Retrieve status=INVALID_ARGUMENT");
  EXPECT_THAT(log, HasSubstr("access method=GetModelInfo status=OK"));
  EXPECT_THAT(log, HasSubstr("access method=Retrieve status=INVALID_ARGUMENT"));
  EXPECT_THAT(log, HasSubstr("latency_ms="));
}

TEST(EntityViewServerTest, EntityWeightingRanksTheRareEntityFirstAndExplains) {
  // A server with the entity view fused into its defaults, as the
  // repository's config (lexical weight 1, entity weight 1).
  ServerProcess server;
  ASSERT_TRUE(server.Start(
      absl::StrCat(kConfig,
                   "views {\n"
                   "  entity { enabled: true }\n"
                   "  default_views: SCORING_VIEW_LEXICAL\n"
                   "  default_views: SCORING_VIEW_ENTITY\n"
                   "  fusion { weights { key: \"entity\" value: 1 } }\n"
                   "}\n")))
      << server.error();
  RetrieverClient client(server.target());
  auto info = client.GetModelInfo(kTimeout);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(info->default_views(),
              ::testing::Contains(attnr::v1::SCORING_VIEW_ENTITY));

  // Several passages share the query's words; one names Tamsin Orvel.
  std::string doc;
  for (int i = 0; i < 30; ++i) {
    absl::StrAppend(&doc, "Paragraph ", i,
                    " talks about the harvest and the mild weather.\n\n");
  }
  doc += "The lighthouse keeper kept the lighthouse logbook dry.\n\n";
  doc += "Tamsin Orvel wrote in the logbook of the lighthouse.\n\n";
  doc += "A lighthouse logbook was kept by every keeper.\n\n";
  attnr::v1::RetrieveRequest request;
  request.set_query("Who kept the lighthouse logbook, Tamsin Orvel?");
  request.add_documents()->set_text(doc);
  request.mutable_options()->set_explain(true);
  request.mutable_options()->set_max_passage_tokens(16);
  auto weighted = client.Retrieve(request, kTimeout);
  ASSERT_TRUE(weighted.ok()) << weighted.status();
  ASSERT_EQ(weighted->passages_size(), 3);
  const attnr::v1::Passage& top = weighted->passages(0);
  EXPECT_THAT(top.text(), HasSubstr("Tamsin Orvel"));
  EXPECT_GT(top.breakdown().entity(), 0.0);
  bool explained = false;
  for (const auto& v : top.breakdown().view_scores()) {
    if (v.view() != attnr::v1::SCORING_VIEW_ENTITY) continue;
    EXPECT_THAT(v.reasons(), ::testing::ElementsAre("Tamsin Orvel"));
    explained = true;
  }
  EXPECT_TRUE(explained);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(weighted->passages(i).breakdown().entity(), 0.0);
  }

  // The entity view alone: only the passage naming the entity has evidence.
  request.mutable_options()->add_views(attnr::v1::SCORING_VIEW_ENTITY);
  auto alone = client.Retrieve(request, kTimeout);
  ASSERT_TRUE(alone.ok()) << alone.status();
  ASSERT_EQ(alone->passages_size(), 1);
  EXPECT_THAT(alone->passages(0).text(), HasSubstr("Tamsin Orvel"));
  // Without it (ablation) the entity score is not computed.
  request.mutable_options()->clear_views();
  request.mutable_options()->add_views(attnr::v1::SCORING_VIEW_LEXICAL);
  auto plain = client.Retrieve(request, kTimeout);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_EQ(plain->passages_size(), 3);
  for (const auto& p : plain->passages()) {
    EXPECT_EQ(p.breakdown().entity(), 0.0);
    EXPECT_EQ(p.breakdown().view_scores_size(), 1);
  }
  EXPECT_EQ(server.Stop(), 0);
}

TEST(ServerLifecycleTest, SigtermDrainsAndExitsCleanly) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(kConfig)) << server.error();
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_THAT(server.log(), HasSubstr("server stopped"));
}

TEST(ServerLifecycleTest, BadConfigAndUnloadableModelsStopStartup) {
  const std::string bad =
      WriteFile("bad.textproto", "limits { max_top_k: 0 }\n");
  const CommandResult config = RunShell(absl::StrCat(
      ATTNR_SERVER_BIN, " --config ", bad, " --listen 127.0.0.1:0"));
  EXPECT_EQ(config.exit_code, 2);
  EXPECT_THAT(config.err, HasSubstr("limits.max_top_k"));

  // A config of 0.4.0's flat settings is refused with their new place.
  const std::string flat = WriteFile("flat.textproto", "max_top_k: 9\n");
  const CommandResult old = RunShell(absl::StrCat(
      ATTNR_SERVER_BIN, " --config ", flat, " --listen 127.0.0.1:0"));
  EXPECT_EQ(old.exit_code, 2);
  EXPECT_THAT(old.err, HasSubstr("max_top_k is now limits.max_top_k"));

  const std::string ok = WriteFile("ok.textproto", kConfig);
  const CommandResult model = RunShell(
      absl::StrCat(ATTNR_SERVER_BIN, " --config ", ok,
                   " --listen 127.0.0.1:0 --dense_model /nonexistent/encoder"));
  EXPECT_EQ(model.exit_code, 1);
  EXPECT_THAT(model.err, HasSubstr("dense model"));
  EXPECT_THAT(model.err, HasSubstr("/nonexistent/encoder"));
}

}  // namespace
}  // namespace attnr

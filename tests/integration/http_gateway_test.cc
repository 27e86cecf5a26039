// Starts the real attnr-server binary with its HTTP gateway on loopback
// ports and talks HTTP/JSON to it (cpp-httplib's client) beside gRPC: the
// two transports share one frontend, so the same request gets the same
// answer, and the same bad request the same status and message.
#include <grpcpp/generic/generic_stub.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/retriever_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_server.h"

namespace attnr {
namespace {

using attnr::client::RetrieverClient;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kTimeout = absl::Seconds(30);

constexpr const char* kConfig = kSmallLimitsConfig;

// A document of `sections` sections with one planted answer (multi-byte
// text before it, so code-point and byte offsets differ).
std::string Handbook(const std::string& title, int sections) {
  std::string d = absl::StrCat("# ", title, " caf\xC3\xA9 \xE2\x98\x95\n\n");
  for (int s = 0; s < sections; ++s) {
    absl::StrAppend(&d, "## Section ", s, "\n\nThe committee reviewed the ",
                    "figures. Visitors enjoyed the garden \xF0\x9F\x8C\xB7. ",
                    "Each chapter ends with a summary.\n\n");
    if (s == sections / 2) {
      d += "The espresso grinder must be descaled every fourteen days.\n\n";
    }
  }
  return d;
}

class HttpGatewayTest : public SharedServerTest<HttpGatewayTest, true> {
 public:
  static std::string ServerConfig() { return kConfig; }

 protected:
  void SetUp() override {
    SharedServerTest::SetUp();
    if (HasFatalFailure()) return;
    http_ =
        std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
    http_->set_read_timeout(std::chrono::seconds(30));
  }

  // POSTs `body`; the status and the parsed answer.
  std::pair<int, json> Post(const std::string& path, const std::string& body,
                            const httplib::Headers& headers = {}) {
    auto res = http_->Post(path.c_str(), headers, body, "application/json");
    if (!res) {
      ADD_FAILURE() << "no HTTP answer: " << httplib::to_string(res.error());
      return {0, json()};
    }
    return {res->status, json::parse(res->body)};
  }

  std::unique_ptr<httplib::Client> http_;
};

TEST_F(HttpGatewayTest, HealthAndOpenApiDocument) {
  auto health = http_->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body)["status"], "SERVING");

  auto doc = http_->Get("/openapi.json");
  ASSERT_TRUE(doc);
  ASSERT_EQ(doc->status, 200);
  const json openapi = json::parse(doc->body);
  EXPECT_EQ(openapi["openapi"], "3.1.0");
  for (const char* path : {"/v1/rerank", "/v1/retrieve", "/v1/score",
                           "/v1/prepare", "/v1/model_info", "/health"}) {
    EXPECT_TRUE(openapi["paths"].contains(path)) << path;
  }
  // Every schema reference resolves.
  std::vector<const json*> stack = {&openapi};
  int refs = 0;
  while (!stack.empty()) {
    const json* node = stack.back();
    stack.pop_back();
    if (node->is_object() && node->contains("$ref")) {
      const std::string ref = (*node)["$ref"];
      ASSERT_EQ(ref.rfind("#/components/", 0), 0u) << ref;
      EXPECT_NE(openapi.value(json::json_pointer(ref.substr(1)), json()),
                json())
          << ref;
      ++refs;
    }
    if (node->is_structured()) {
      for (const json& child : *node) stack.push_back(&child);
    }
  }
  EXPECT_GT(refs, 20);
}

TEST_F(HttpGatewayTest, ServesThePlaygroundPageFromTheBinary) {
  auto page = http_->Get("/");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200);
  EXPECT_THAT(page->get_header_value("Content-Type"), HasSubstr("text/html"));
  EXPECT_THAT(page->body, HasSubstr("<title>attnr playground</title>"));
  EXPECT_EQ(page->get_header_value("Content-Security-Policy")
                .rfind("default-src 'self'", 0),
            0u);
  // Everything the page loads is served too, and nothing else is named
  // (no external scripts, styles or fonts).
  for (const char* asset : {"/playground.js", "/playground.css"}) {
    EXPECT_THAT(page->body, HasSubstr(asset));
    auto res = http_->Get(asset);
    ASSERT_TRUE(res) << asset;
    EXPECT_EQ(res->status, 200) << asset;
    EXPECT_GT(res->body.size(), 1000u) << asset;
    // The one URL is SVG's namespace name, which is never fetched.
    std::string body = res->body;
    for (size_t at;
         (at = body.find("http://www.w3.org/2000/svg")) != std::string::npos;) {
      body.erase(at, 26);
    }
    EXPECT_THAT(body, Not(HasSubstr("http://"))) << asset;
    EXPECT_THAT(body, Not(HasSubstr("https://"))) << asset;
  }
  EXPECT_THAT(page->body, Not(HasSubstr("https://")));
}

TEST_F(HttpGatewayTest, RetrieveExplainsSentencesThroughJson) {
  const std::string doc = Handbook("Heat", 6);
  auto [status, body] =
      Post("/v1/retrieve", json{{"query", "espresso grinder"},
                                {"documents", {doc}},
                                {"options", {{"explain_level", "sentences"}}}}
                               .dump());
  ASSERT_EQ(status, 200) << body.dump();
  ASSERT_EQ(body["explanations"].size(), 1u);
  const json& e = body["explanations"][0];
  EXPECT_EQ(e["document_index"], 0);
  ASSERT_GT(e["sentences"].size(), 6u);
  for (const json& s : e["sentences"]) {
    EXPECT_LT(s["range"]["start_char"].get<int>(),
              s["range"]["end_char"].get<int>());
    // No LLM view in this request: no attention, said in the note.
    EXPECT_FALSE(s.contains("attention")) << s.dump();
  }
  EXPECT_THAT(e["note"].get<std::string>(),
              HasSubstr("not among the request's views"));
  // EXPLAIN_SENTENCES includes the scores.
  EXPECT_TRUE(body["passages"][0].contains("breakdown"));
  // The enum's own name works as well; an unknown level is refused.
  std::tie(status, body) = Post(
      "/v1/retrieve", json{{"query", "espresso grinder"},
                           {"documents", {doc}},
                           {"options", {{"explain_level", "EXPLAIN_SCORES"}}}}
                          .dump());
  ASSERT_EQ(status, 200);
  EXPECT_TRUE(body["explanations"].empty());
  EXPECT_TRUE(body["passages"][0].contains("breakdown"));
  std::tie(status, body) =
      Post("/v1/retrieve", json{{"query", "espresso grinder"},
                                {"documents", {doc}},
                                {"options", {{"explain_level", "loud"}}}}
                               .dump());
  EXPECT_EQ(status, 400);
  EXPECT_THAT(body["error"]["message"].get<std::string>(),
              HasSubstr("options.explain_level: must be one of"));
}

TEST_F(HttpGatewayTest, RerankRanksTheAnswerFirst) {
  const auto [status, body] = Post("/v1/rerank", R"({
      "model": "attnr", "query": "How often must the espresso grinder be descaled?",
      "documents": ["Visitors enjoyed the garden.",
                    {"text": "The espresso grinder must be descaled every fourteen days."},
                    "Each chapter ends with a summary."],
      "top_n": 2, "return_documents": true})");
  ASSERT_EQ(status, 200) << body.dump();
  ASSERT_EQ(body["results"].size(), 2u);
  EXPECT_EQ(body["results"][0]["index"], 1);
  EXPECT_EQ(body["results"][0]["document"]["text"],
            "The espresso grinder must be descaled every fourteen days.");
  EXPECT_GT(body["results"][0]["relevance_score"].get<double>(),
            body["results"][1]["relevance_score"].get<double>());
  EXPECT_GT(body["usage"]["total_tokens"].get<int>(), 10);
  EXPECT_THAT(body["model"].get<std::string>(), HasSubstr("/"));
  EXPECT_EQ(body["id"].get<std::string>().size(), 32u);
}

TEST_F(HttpGatewayTest, RetrieveAnswersAsGrpcDoes) {
  const std::string doc = Handbook("Same answer", 60);
  attnr::v1::RetrieveRequest request;
  request.set_query("How often must the espresso grinder be descaled?");
  request.add_documents()->set_text(doc);
  request.mutable_options()->set_top_k(3);
  auto via_grpc = client_->Retrieve(request, kTimeout);
  ASSERT_TRUE(via_grpc.ok()) << via_grpc.status();

  const auto [status, body] =
      Post("/v1/retrieve", json{{"query", request.query()},
                                {"documents", {doc}},
                                {"options", {{"top_k", 3}}}}
                               .dump());
  ASSERT_EQ(status, 200) << body.dump();
  ASSERT_EQ(body["passages"].size(),
            static_cast<size_t>(via_grpc->passages_size()));
  for (int i = 0; i < via_grpc->passages_size(); ++i) {
    const auto& p = via_grpc->passages(i);
    const json& h = body["passages"][i];
    EXPECT_EQ(h["rank"], p.rank());
    EXPECT_EQ(h["text"], p.text());
    EXPECT_EQ(h["range"]["start_char"], p.range().start_char());
    EXPECT_EQ(h["range"]["end_char"], p.range().end_char());
    EXPECT_EQ(h["range"]["start_byte"], p.range().start_byte());
    EXPECT_EQ(h["range"]["end_byte"], p.range().end_byte());
    EXPECT_DOUBLE_EQ(h["score"].get<double>(), p.score());
  }
  EXPECT_THAT(body["passages"][0]["text"].get<std::string>(),
              HasSubstr("descaled every fourteen days"));
  // Multi-byte text precedes the answer: the two kinds of offset differ.
  EXPECT_LT(body["passages"][0]["range"]["start_char"].get<int>(),
            body["passages"][0]["range"]["start_byte"].get<int>());
  EXPECT_THAT(server_->LogWith("transport=http"),
              HasSubstr("access method=Retrieve status=OK"));
}

// One bad request, sent as JSON and as the equivalent protobuf message.
struct BadRequest {
  std::string name;
  json body;
  std::function<void(attnr::v1::RetrieveRequest*)> build;
  int http_status;
  absl::StatusCode code;
  std::string message;
};

TEST_F(HttpGatewayTest, SameBadRequestSameStatusAndMessageThroughBoth) {
  const std::string doc = Handbook("Limits", 5);
  auto base = [doc](attnr::v1::RetrieveRequest* r) {
    r->set_query("espresso");
    r->add_documents()->set_text(doc);
  };
  const json base_json = {{"query", "espresso"}, {"documents", {doc}}};
  auto with = [&](json patch) {
    json j = base_json;
    j.merge_patch(patch);
    return j;
  };
  const std::vector<BadRequest> cases = {
      {"empty query", with({{"query", "   "}}),
       [&](auto* r) {
         base(r);
         r->set_query("   ");
       },
       400, absl::StatusCode::kInvalidArgument, "query: is empty"},
      {"query over max_query_bytes", with({{"query", std::string(600, 'q')}}),
       [&](auto* r) {
         base(r);
         r->set_query(std::string(600, 'q'));
       },
       413, absl::StatusCode::kResourceExhausted, "(max_query_bytes)"},
      {"no documents",
       json{{"query", "espresso"}, {"documents", json::array()}},
       [](auto* r) { r->set_query("espresso"); }, 400,
       absl::StatusCode::kInvalidArgument, "documents: at least one"},
      {"too many documents", with({{"documents", {doc, doc, doc, doc}}}),
       [&](auto* r) {
         r->set_query("espresso");
         for (int i = 0; i < 4; ++i) r->add_documents()->set_text(doc);
       },
       413, absl::StatusCode::kResourceExhausted, "(max_documents)"},
      {"top_k 1e9", with({{"options", {{"top_k", 1e9}}}}),
       [&](auto* r) {
         base(r);
         r->mutable_options()->set_top_k(1000000000);
       },
       400, absl::StatusCode::kInvalidArgument,
       "options.top_k: 1000000000 is over the maximum of 20"},
      {"passage size", with({{"options", {{"max_passage_tokens", 100000}}}}),
       [&](auto* r) {
         base(r);
         r->mutable_options()->set_max_passage_tokens(100000);
       },
       400, absl::StatusCode::kInvalidArgument, "(max_passage_tokens)"},
      {"long id",
       with({{"documents", {{{"id", std::string(65, 'i')}, {"text", doc}}}}}),
       [&](auto* r) {
         r->set_query("espresso");
         auto* d = r->add_documents();
         d->set_id(std::string(65, 'i'));
         d->set_text(doc);
       },
       400, absl::StatusCode::kInvalidArgument,
       "documents[0].id: 65 bytes, over the limit of 64"},
      {"blank document", with({{"documents", {"x", " \n "}}}),
       [&](auto* r) {
         r->set_query("espresso");
         r->add_documents()->set_text("x");
         r->add_documents()->set_text(" \n ");
       },
       400, absl::StatusCode::kInvalidArgument,
       "documents[1].text: is empty or only whitespace"},
      {"query over max_query_tokens",
       with({{"query",
              std::string(200, 'a').replace(1, 150, std::string(150, ' '))}}),
       [&](auto* r) {
         base(r);
         std::string q;
         for (int i = 0; i < 40; ++i) q += "word ";
         r->set_query(q);
       },
       0, absl::StatusCode::kOk, ""},  // Replaced below.
  };
  std::vector<BadRequest> all(cases.begin(), cases.end() - 1);
  {
    std::string q;
    for (int i = 0; i < 40; ++i) q += "word ";
    BadRequest tokens = cases.back();
    tokens.body = with({{"query", q}});
    tokens.http_status = 413;
    tokens.code = absl::StatusCode::kResourceExhausted;
    tokens.message = "(max_query_tokens)";
    all.push_back(tokens);
  }
  for (const BadRequest& c : all) {
    SCOPED_TRACE(c.name);
    attnr::v1::RetrieveRequest request;
    c.build(&request);
    auto via_grpc = client_->Retrieve(request, kTimeout);
    ASSERT_FALSE(via_grpc.ok());
    EXPECT_EQ(via_grpc.status().code(), c.code);
    EXPECT_THAT(via_grpc.status().message(), HasSubstr(c.message));

    const auto [status, body] = Post("/v1/retrieve", c.body.dump());
    EXPECT_EQ(status, c.http_status) << body.dump();
    EXPECT_EQ(body["error"]["code"], absl::StatusCodeToString(c.code));
    EXPECT_EQ(body["error"]["status"], c.http_status);
    EXPECT_EQ(body["error"]["message"],
              std::string(via_grpc.status().message()));
  }
}

TEST_F(HttpGatewayTest, ScoreAndRerankRefuseOverTheirLimitsNamingTheField) {
  json documents = json::array();
  attnr::v1::ScoreRequest request;
  request.set_query("espresso");
  for (int i = 0; i < 11; ++i) {
    documents.push_back(absl::StrCat("passage ", i));
    request.add_passages()->set_text(absl::StrCat("passage ", i));
  }
  auto via_grpc = client_->Score(request, kTimeout);
  ASSERT_FALSE(via_grpc.ok());
  EXPECT_EQ(via_grpc.status().code(), absl::StatusCode::kResourceExhausted);

  auto [status, body] = Post(
      "/v1/score", json{{"query", "espresso"}, {"passages", documents}}.dump());
  EXPECT_EQ(status, 413);
  EXPECT_EQ(body["error"]["message"], std::string(via_grpc.status().message()));
  // Through /v1/rerank the caller's field is named: documents, not passages.
  std::tie(status, body) =
      Post("/v1/rerank",
           json{{"query", "espresso"}, {"documents", documents}}.dump());
  EXPECT_EQ(status, 413);
  EXPECT_EQ(body["error"]["message"],
            "documents: 11 passages, over the limit of 10 per request "
            "(max_score_passages)");
}

TEST_F(HttpGatewayTest, TransportErrorsAreJsonWithTheirStatus) {
  auto [status, body] =
      Post("/v1/retrieve", R"({"query": "x", "documents": [)");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_THAT(body["error"]["message"].get<std::string>(),
              HasSubstr("body: not valid JSON (UTF-8) at byte 29"));

  std::tie(status, body) =
      Post("/v1/retrieve",
           std::string("{\"query\": \"caf\xC3\", \"documents\": [\"x\"]}"));
  EXPECT_EQ(status, 400);
  // The offset of the bad byte (0xC3 without its continuation).
  EXPECT_THAT(body["error"]["message"].get<std::string>(),
              HasSubstr("body: invalid UTF-8 at byte offset 14"));

  std::tie(status, body) = Post("/v1/nothing", "{}");
  EXPECT_EQ(status, 404);
  EXPECT_THAT(body["error"]["message"].get<std::string>(),
              HasSubstr("no route POST /v1/nothing"));

  // Over max_message_bytes (4 MiB): read and dropped, then refused.
  std::tie(status, body) = Post("/v1/retrieve", std::string(5 << 20, ' '));
  EXPECT_EQ(status, 413);
  EXPECT_THAT(body["error"]["message"].get<std::string>(),
              HasSubstr("(max_message_bytes)"));
  // A client that waits for "100 Continue" (curl, for large bodies) is
  // refused before it sends the body.
  const std::string big = WriteFile("big_body.json", std::string(5 << 20, ' '));
  const CommandResult curl = RunShell(absl::StrCat(
      "curl -s -o /dev/null -w '%{http_code} %{size_upload}' "
      "-H 'Expect: 100-continue' -H 'Content-Type: application/json' "
      "--data-binary @",
      big, " http://127.0.0.1:", server_->http_port(), "/v1/retrieve"));
  EXPECT_EQ(curl.out, "413 0") << curl.err;
}

TEST_F(HttpGatewayTest, TimeoutHeaderIsTheCallsDeadline) {
  // A fresh long document and a 1 ms deadline: the work stops and the
  // answer is 504, as DEADLINE_EXCEEDED is through gRPC.
  const std::string doc = Handbook("Deadline", 3000);
  const auto [status, body] =
      Post("/v1/retrieve",
           json{{"query", "espresso grinder"}, {"documents", {doc}}}.dump(),
           {{"X-Timeout-Ms", "1"}});
  EXPECT_EQ(status, 504) << body.dump();
  EXPECT_EQ(body["error"]["code"], "DEADLINE_EXCEEDED");
  EXPECT_THAT(body["error"]["message"].get<std::string>(),
              HasSubstr("deadline exceeded during the"));
}

TEST_F(HttpGatewayTest, ModelInfoMatchesGrpc) {
  auto via_grpc = client_->GetModelInfo(kTimeout);
  ASSERT_TRUE(via_grpc.ok());
  auto res = http_->Get("/v1/model_info");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const json info = json::parse(res->body);
  EXPECT_EQ(info["name"], via_grpc->name());
  EXPECT_EQ(info["limits"]["max_top_k"], via_grpc->limits().max_top_k());
  EXPECT_EQ(info["default_views"].size(),
            static_cast<size_t>(via_grpc->default_views_size()));
}

// The metrics endpoint (its own port) counts calls by method, transport
// and status, and exposes latency histograms, tokens and gauges.
TEST_F(HttpGatewayTest, MetricsCountCallsByTransportAndStatus) {
  attnr::v1::RetrieveRequest request;
  request.set_query("espresso grinder");
  request.add_documents()->set_text(Handbook("Metrics", 10));
  ASSERT_TRUE(client_->Retrieve(request, kTimeout).ok());
  const auto [status, body] =
      Post("/v1/retrieve", R"({"query": "", "documents": ["x"]})");
  ASSERT_EQ(status, 400);

  httplib::Client metrics("127.0.0.1", server_->metrics_port());
  std::string text;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  // A call is counted when its transport is done with it, just after the
  // client has its answer (gRPC's and the gateway's threads, in any order).
  while (absl::Now() < give_up) {
    auto res = metrics.Get("/metrics");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    ASSERT_EQ(res->status, 200);
    EXPECT_THAT(res->get_header_value("Content-Type"),
                HasSubstr("text/plain; version=0.0.4"));
    text = res->body;
    if (text.find("transport=\"http\",code=\"INVALID_ARGUMENT\"") !=
            std::string::npos &&
        text.find("transport=\"grpc\",code=\"OK\"") != std::string::npos) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(text, HasSubstr("attnr_requests_total{method=\"Retrieve\","
                              "transport=\"grpc\",code=\"OK\"}"));
  EXPECT_THAT(text,
              HasSubstr("attnr_requests_total{method=\"Retrieve\","
                        "transport=\"http\",code=\"INVALID_ARGUMENT\"} "));
  EXPECT_THAT(text, HasSubstr("# TYPE attnr_request_duration_seconds "
                              "histogram"));
  EXPECT_THAT(text, HasSubstr("attnr_request_duration_seconds_bucket{method="
                              "\"Retrieve\",le=\"+Inf\"}"));
  EXPECT_THAT(text, HasSubstr("attnr_stage_duration_seconds_count{stage="
                              "\"text\"}"));
  EXPECT_THAT(text, HasSubstr("attnr_queue_depth{pool=\"neural\"} 0"));
  EXPECT_THAT(text, HasSubstr("attnr_stage_duration_seconds_count{stage="
                              "\"queue\"}"));
  // The analysis cache holds the document just retrieved.
  EXPECT_THAT(text, HasSubstr("attnr_cache_bytes{cache=\"documents\"} "));
  EXPECT_THAT(text,
              Not(HasSubstr("attnr_cache_bytes{cache=\"documents\"} 0\n")));
  EXPECT_THAT(text, HasSubstr("attnr_serving 1"));
  // Every sample line is `name[{labels}] value`.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    EXPECT_NE(line.rfind(' '), std::string::npos) << line;
    EXPECT_EQ(line.rfind("attnr_", 0), 0u) << line;
  }
  const size_t tokens = text.find("\nattnr_document_tokens_total ");
  ASSERT_NE(tokens, std::string::npos);
  EXPECT_GT(std::stoll(text.substr(tokens + 29)), 100);
  // Nothing else is served there.
  EXPECT_EQ(metrics.Get("/v1/model_info")->status, 404);
}

// A battery of bad inputs, each through gRPC and through HTTP: the right
// status every time, and the server keeps serving.
TEST_F(HttpGatewayTest, BadInputBatteryGetsTheRightStatusThroughBoth) {
  const std::string good_doc = Handbook("Battery", 5);
  struct BadUtf8 {
    const char* kind;
    std::string bytes;
  };
  const std::vector<BadUtf8> bad_utf8 = {
      {"lone continuation byte", "caf\x80"},
      {"overlong encoding", "a\xC0\xAF"},
      {"UTF-16 surrogate", "a\xED\xA0\x80"},
      {"truncated sequence", "a\xE2\x82"},
      {"beyond U+10FFFF", "a\xF4\x90\x80\x80"},
  };
  int checked = 0;
  for (const BadUtf8& b : bad_utf8) {
    SCOPED_TRACE(b.kind);
    // Every text field of Retrieve and Score, through gRPC.
    attnr::v1::RetrieveRequest in_query;
    in_query.set_query("espresso " + b.bytes);
    in_query.add_documents()->set_text(good_doc);
    attnr::v1::RetrieveRequest in_text;
    in_text.set_query("espresso");
    in_text.add_documents()->set_text(good_doc + b.bytes);
    attnr::v1::RetrieveRequest in_id = in_text;
    in_id.mutable_documents(0)->set_text(good_doc);
    in_id.mutable_documents(0)->set_id(b.bytes);
    for (const auto& [request, field] :
         {std::pair{&in_query, "query: invalid UTF-8 at byte offset"},
          std::pair{&in_text, "documents[0]: invalid UTF-8 at byte offset"},
          std::pair{&in_id, "documents[0].id: invalid UTF-8"}}) {
      auto r = client_->Retrieve(*request, kTimeout);
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(r.status().message(), HasSubstr(field));
      ++checked;
    }
    attnr::v1::ScoreRequest score;
    score.set_query("espresso");
    score.add_passages()->set_text(b.bytes);
    auto scored = client_->Score(score, kTimeout);
    EXPECT_EQ(scored.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(scored.status().message(), HasSubstr("passages[0]"));
    score.clear_passages();
    score.add_passages()->mutable_char_range()->set_end(3);
    score.mutable_context()->set_text(b.bytes + good_doc);
    scored = client_->Score(score, kTimeout);
    EXPECT_EQ(scored.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(scored.status().message(), HasSubstr("context"));
    // Through HTTP the JSON body itself is not UTF-8.
    const auto [status, body] =
        Post("/v1/retrieve", absl::StrCat(R"({"query": "espresso )", b.bytes,
                                          R"(", "documents": ["x"]})"));
    EXPECT_EQ(status, 400);
    EXPECT_THAT(body["error"]["message"].get<std::string>(),
                HasSubstr("body: invalid UTF-8 at byte offset"));
    checked += 3;
  }

  // Sizes and counts, the same request through both transports.
  struct Case {
    const char* name;
    json body;
    absl::StatusCode code;
    int http;
    const char* message;
  };
  json many = json::array();
  for (int i = 0; i < 10000; ++i) many.push_back("x");
  const std::vector<Case> cases = {
      {"empty query",
       {{"query", ""}, {"documents", {good_doc}}},
       absl::StatusCode::kInvalidArgument,
       400,
       "query: is empty"},
      {"1 MB query",
       {{"query", std::string(1 << 20, 'q')}, {"documents", {good_doc}}},
       absl::StatusCode::kResourceExhausted,
       413,
       "(max_query_bytes)"},
      {"zero documents",
       {{"query", "q"}, {"documents", json::array()}},
       absl::StatusCode::kInvalidArgument,
       400,
       "documents: at least one"},
      {"10,000 documents",
       {{"query", "q"}, {"documents", many}},
       absl::StatusCode::kResourceExhausted,
       413,
       "(max_documents)"},
      {"document over max_document_bytes",
       {{"query", "q"}, {"documents", {std::string(2097153, 'a')}}},
       absl::StatusCode::kResourceExhausted,
       413,
       "(max_document_bytes)"},
      {"document over max_document_tokens",
       {{"query", "q"}, {"documents", {[] {
                           std::string d;
                           for (int i = 0; i < 70000; ++i) d += "w ";
                           return d;
                         }()}}},
       absl::StatusCode::kResourceExhausted,
       413,
       "max_document_tokens"},
      {"top_k 1e9",
       {{"query", "q"},
        {"documents", {good_doc}},
        {"options", {{"top_k", 1e9}}}},
       absl::StatusCode::kInvalidArgument,
       400,
       "options.top_k"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    attnr::v1::RetrieveRequest request;
    request.set_query(c.body["query"].get<std::string>());
    for (const json& d : c.body["documents"]) {
      request.add_documents()->set_text(d.get<std::string>());
    }
    if (c.body.contains("options")) {
      request.mutable_options()->set_top_k(
          static_cast<uint32_t>(c.body["options"]["top_k"].get<double>()));
    }
    auto via_grpc = client_->Retrieve(request, kTimeout);
    EXPECT_EQ(via_grpc.status().code(), c.code);
    EXPECT_THAT(via_grpc.status().message(), HasSubstr(c.message));
    const auto [status, body] = Post("/v1/retrieve", c.body.dump());
    EXPECT_EQ(status, c.http);
    EXPECT_THAT(body["error"]["message"].get<std::string>(),
                HasSubstr(c.message));
    checked += 2;
  }
  // top_k 0 is the server's default, not an error.
  attnr::v1::RetrieveRequest zero;
  zero.set_query("espresso");
  zero.add_documents()->set_text(good_doc);
  zero.mutable_options()->set_top_k(0);
  EXPECT_TRUE(client_->Retrieve(zero, kTimeout).ok());

  // A truncated protobuf message: refused by gRPC, not read by the server.
  attnr::v1::RetrieveRequest full;
  full.set_query("espresso");
  full.add_documents()->set_text(good_doc);
  grpc::GenericStub generic(grpc::CreateChannel(
      server_->target(), grpc::InsecureChannelCredentials()));
  auto raw_call = [&](const std::string& wire) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::Slice slice(wire);
    grpc::ByteBuffer sent(&slice, 1), received;
    absl::Notification done;
    grpc::Status status;
    generic.UnaryCall(&context, "/attnr.v1.Retriever/Retrieve", {}, &sent,
                      &received, [&](grpc::Status s) {
                        status = std::move(s);
                        done.Notify();
                      });
    done.WaitForNotification();
    return status;
  };
  const std::string wire = full.SerializeAsString();
  ASSERT_TRUE(raw_call(wire).ok());  // The same path, whole.
  const grpc::Status truncated = raw_call(wire.substr(0, wire.size() / 2));
  EXPECT_EQ(truncated.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(truncated.error_message(),
              HasSubstr("request: not a valid attnr.v1.RetrieveRequest"));

  // The server kept serving through all of it.
  auto health = client_->Health("", kTimeout);
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_TRUE(client_->Retrieve(zero, kTimeout).ok());
  EXPECT_GE(checked, 40);
}

}  // namespace
}  // namespace attnr

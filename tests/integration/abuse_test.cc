// The abuse battery's quick cases (issue 32; the long ones are in
// bench/abuse.py): the real server with the shipped configuration (dense,
// entity and LLM views) sent text built to make the models read without
// bound. Each is answered or refused with a clear status, its model work
// stays within the budgets, and the server's peak memory grows by less than
// 512 MB over all of them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/retriever_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_server.h"

namespace attnr {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(120);

std::string Repeat(const std::string& piece, size_t bytes) {
  std::string out;
  out.reserve(bytes + piece.size());
  while (out.size() < bytes) out += piece;
  return out;
}

struct Abuse {
  std::string name;
  std::string text;
};

std::vector<Abuse> WordlessDocuments() {
  return {
      {"100,000 '!'", std::string(100000, '!')},
      {"1 MiB of '!'", std::string(1 << 20, '!')},
      {"1 MiB of '.'", std::string(1 << 20, '.')},
      {"1 MiB of 'a_'", Repeat("a_", 1 << 20)},
      {"1 MiB of '1.'", Repeat("1.", 1 << 20)},
      {"100k nested parentheses",
       std::string(100000, '(') + std::string(100000, ')')},
  };
}

class AbuseTest : public SharedServerTest<AbuseTest, true> {};

attnr::v1::RetrieveRequest RequestFor(const std::string& query,
                                      const std::string& document, bool llm) {
  attnr::v1::RetrieveRequest request;
  request.set_query(query);
  request.add_documents()->set_text(document);
  if (llm) request.mutable_options()->add_views(attnr::v1::SCORING_VIEW_LLM);
  return request;
}

// Word-less documents with the LLM view and with the default views: each
// is answered, within the shipped budgets counted in the models' own
// tokens (neural_budget_tokens 6,144 for the dense view, llm_budget_tokens
// 1,024 for the LLM, plus the query), and memory stays bounded.
TEST_F(AbuseTest, WordlessDocumentsAreAnsweredWithinTheBudgets) {
  // Warm-up: both models have run once, so the peak below is the abuse's.
  const std::string warm = "The licence grants the right to copy the work.";
  ASSERT_TRUE(client_->Retrieve(RequestFor("copy", warm, true), kTimeout).ok());
  ASSERT_TRUE(
      client_->Retrieve(RequestFor("copy", warm, false), kTimeout).ok());
  const int64_t before = server_->PeakRssBytes();
  ASSERT_GT(before, 0);
  for (bool llm : {true, false}) {
    for (const Abuse& abuse : WordlessDocuments()) {
      SCOPED_TRACE(absl::StrCat(abuse.name, llm ? ", LLM view" : ", default"));
      const absl::Time start = absl::Now();
      auto response = client_->Retrieve(
          RequestFor("What does the licence say about warranty?", abuse.text,
                     llm),
          kTimeout);
      ASSERT_TRUE(response.ok()) << response.status();
      std::printf(
          "%s (%s): %.0f ms, %u passages, %u model tokens, %u "
          "unjudged, %u over a window\n",
          abuse.name.c_str(), llm ? "llm" : "default",
          absl::ToDoubleMilliseconds(absl::Now() - start),
          response->usage().passages(), response->usage().encoded_tokens(),
          response->usage().unjudged_passages(),
          response->usage().oversized_passages());
      // Units are bounded: a 1 MiB document makes hundreds of them.
      EXPECT_GE(response->usage().passages(), abuse.text.size() / 2048 / 2);
      EXPECT_LE(response->usage().encoded_tokens(),
                llm ? 1024u + 64 : 6144u + 64);
    }
  }
  const int64_t grew = server_->PeakRssBytes() - before;
  std::printf("peak RSS grew by %.1f MB\n", grew / 1048576.0);
  if (kMeasuresMemory) EXPECT_LT(grew, int64_t{512} << 20);
}

// A query of punctuation is thousands of model tokens and no words: it is
// refused before any model runs, naming the limit.
TEST_F(AbuseTest, AQueryOverTheModelTokenLimitIsRefused) {
  const std::string query = "what " + Repeat("!?.,;", 8000);
  for (bool llm : {true, false}) {
    auto response = client_->Retrieve(
        RequestFor(query.substr(0, 8000), "The licence grants rights.", llm),
        kTimeout);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(response.status().message(),
                HasSubstr("(max_query_model_tokens)"));
    EXPECT_THAT(response.status().message(), HasSubstr("query: "));
  }
}

// A passage a caller sends to Score that no window holds is skipped by the
// neural views and said so, not read for minutes.
TEST_F(AbuseTest, ScorePassagesOverAWindowAreSkippedAndCounted) {
  attnr::v1::ScoreRequest request;
  request.set_query("warranty terms");
  request.add_passages()->set_text(Repeat("a_", 1 << 20));
  request.add_passages()->set_text("There is no warranty for the program.");
  request.mutable_options()->add_views(attnr::v1::SCORING_VIEW_LLM);
  auto response = client_->Score(request, kTimeout);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->usage().oversized_passages(), 1u);
  EXPECT_GT(response->scores(1).score(), 0.0);
}

// max_call_seconds ends a call whose client set a far deadline.
TEST(AbuseLimitsTest, MaxCallSecondsEndsACallWithoutAClientDeadline) {
  ServerProcess server;
  ASSERT_TRUE(
      server.Start("views { dense { model: \"all-minilm-l6-v2\" } }\n"
                   "limits { max_call_seconds: 1 }\n"))
      << server.error();
  std::string document;
  for (int i = 0; document.size() < 400000; ++i) {
    absl::StrAppend(&document, "Paragraph ", i,
                    " says something new about topic ", i * 7, ".\n\n");
  }
  attnr::v1::PrepareRequest request;
  request.add_documents()->set_text(document);
  RetrieverClient client(server.target());
  const absl::Time start = absl::Now();
  // A client deadline far away (a day).
  auto response = client.Prepare(request, absl::Hours(24));
  const absl::Duration took = absl::Now() - start;
  // Ended by the server's cap: refused past it, or answered with the
  // passages its pacing left unjudged counted.
  if (response.ok()) {
    EXPECT_GT(response->usage().unjudged_passages(), 0u);
  } else {
    EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded)
        << response.status();
  }
  EXPECT_LT(took, absl::Seconds(20));
}

// A raw HTTP/1.1 client on loopback: the bytes exactly as written (paths
// with %00, HEAD, a close or a reset in the middle of a call).
class RawHttp {
 public:
  explicit RawHttp(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawHttp() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }

  void Send(const std::string& bytes) {
    for (size_t sent = 0; sent < bytes.size();) {
      const ssize_t n = write(fd_, bytes.data() + sent, bytes.size() - sent);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }
  // A request with `body` (Content-Length set).
  void Request(const std::string& method, const std::string& path,
               const std::string& body = "",
               const std::string& content_type = "application/json") {
    Send(absl::StrCat(
        method, " ", path,
        " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n",
        body.empty() && method != "POST"
            ? ""
            : absl::StrCat("Content-Type: ", content_type,
                           "\r\nContent-Length: ", body.size(), "\r\n"),
        "\r\n", body));
  }
  // Everything until the server closes (Connection: close).
  std::string ReadAll() {
    std::string out;
    char buffer[65536];
    for (ssize_t n; (n = read(fd_, buffer, sizeof(buffer))) > 0;) {
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  // Closes with a FIN, or (reset) with a RST.
  void Hangup(bool reset) {
    if (reset) {
      linger l{1, 0};
      setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

int StatusOf(const std::string& response) {
  // "HTTP/1.1 405 Method Not Allowed".
  if (response.size() < 12) return 0;
  return std::atoi(response.substr(9, 3).c_str());
}

std::string HeaderOf(const std::string& response, const std::string& name) {
  for (absl::string_view line : absl::StrSplit(response, "\r\n")) {
    if (line.empty()) break;
    if (absl::StartsWithIgnoreCase(line, absl::StrCat(name, ":"))) {
      return std::string(
          absl::StripAsciiWhitespace(line.substr(name.size() + 1)));
    }
  }
  return "";
}

std::string BodyOf(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

// 405 names the allowed methods; HEAD works wherever GET does; paths that
// are not canonical (percent-encoded, with NUL, dot or empty segments) are
// 400; a POST body must be declared as JSON (415).
TEST_F(AbuseTest, HttpMethodsPathsAndContentTypes) {
  const int port = server_->http_port();
  {
    RawHttp http(port);
    ASSERT_TRUE(http.connected());
    http.Request("DELETE", "/v1/retrieve");
    const std::string response = http.ReadAll();
    EXPECT_EQ(StatusOf(response), 405) << response;
    EXPECT_EQ(HeaderOf(response, "Allow"), "POST");
    EXPECT_THAT(BodyOf(response), HasSubstr("\"status\":405"));
    EXPECT_THAT(BodyOf(response), HasSubstr("not allowed"));
  }
  {
    RawHttp http(port);
    http.Request("POST", "/openapi.json", "{}");
    const std::string response = http.ReadAll();
    EXPECT_EQ(StatusOf(response), 405) << response;
    EXPECT_EQ(HeaderOf(response, "Allow"), "GET, HEAD");
  }
  for (const std::string path : {"/", "/health", "/openapi.json"}) {
    RawHttp http(port);
    http.Request("HEAD", path);
    const std::string response = http.ReadAll();
    EXPECT_EQ(StatusOf(response), 200) << path << "\n" << response;
    EXPECT_EQ(BodyOf(response), "") << path;
  }
  for (const std::string path :
       {"/openapi.json%00", "/openapi%2Ejson", "/v1//model_info",
        "/v1/./model_info", "/x/../openapi.json", "/health\x01"}) {
    RawHttp http(port);
    http.Request("GET", path);
    const std::string response = http.ReadAll();
    EXPECT_EQ(StatusOf(response), 400) << path << "\n" << response;
    EXPECT_THAT(BodyOf(response), HasSubstr("canonical")) << path;
  }
  const std::string body =
      R"({"query": "warranty", "documents": ["There is no warranty."]})";
  for (const std::string type :
       {"text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x"}) {
    RawHttp http(port);
    http.Request("POST", "/v1/retrieve", body, type);
    const std::string response = http.ReadAll();
    EXPECT_EQ(StatusOf(response), 415) << type << "\n" << response;
    EXPECT_THAT(BodyOf(response), HasSubstr("Content-Type"));
  }
  RawHttp json(port);
  json.Request("POST", "/v1/retrieve", body, "application/json; charset=utf-8");
  EXPECT_EQ(StatusOf(json.ReadAll()), 200);
}

// A malformed body's text is in neither the error nor the access log, and
// a log line stays short whatever was sent.
TEST_F(AbuseTest, HttpErrorsAndLogsCarryNoRequestText) {
  const int port = server_->http_port();
  const std::string secret = "my-secret-question";
  const std::vector<std::string> bodies = {
      absl::StrCat(R"({"query": "a; b; )", secret, R"(; expected" x})"),
      absl::StrCat(R"({"query": )", std::string(3 << 20, '7'), "e999, \"",
                   secret, "\": 1}"),
      absl::StrCat(R"({")", secret, std::string(100000, 'k'), R"(": 1})"),
      absl::StrCat(R"({"query": "q", "documents": ["x"], "options": )",
                   R"({"views": [")", secret, R"( view"]}})"),
  };
  for (const std::string& body : bodies) {
    RawHttp http(port);
    http.Request("POST", "/v1/retrieve", body);
    const std::string response = http.ReadAll();
    EXPECT_EQ(StatusOf(response), 400) << response.substr(0, 300);
    EXPECT_THAT(response, ::testing::Not(HasSubstr(secret)));
    EXPECT_LT(response.size(), 2048u);
  }
  const std::string log = server_->LogWith("a name of");
  EXPECT_THAT(log, ::testing::Not(HasSubstr(secret)));
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    EXPECT_LT(line.size(), 1024u) << line.substr(0, 200);
  }
}

// A client that closes (FIN) or resets (RST) its connection while its call
// runs cancels the call: its work stops and it is logged CANCELLED, as a
// cancelled gRPC call is.
TEST_F(AbuseTest, AnHttpClientThatHangsUpCancelsItsCall) {
  for (bool reset : {false, true}) {
    SCOPED_TRACE(reset ? "reset" : "close");
    // A fresh document the dense view must embed whole (Prepare): seconds
    // of work.
    std::string document;
    for (int i = 0; document.size() < 300000; ++i) {
      absl::StrAppend(&document, "Clause ", i, reset ? " grants " : " says ",
                      "the right ", i * 13, " to the holder. ");
    }
    const std::string body =
        absl::StrCat(R"({"documents": [")", document,
                     R"("], "options": {"views": ["dense"]}})");
    RawHttp http(server_->http_port());
    http.Request("POST", "/v1/prepare", body);
    absl::SleepFor(absl::Milliseconds(800));
    const absl::Time gone = absl::Now();
    http.Hangup(reset);
    // Logged CANCELLED soon after the hang-up, not when the work would
    // have ended.
    const std::string line = "method=Prepare status=CANCELLED";
    const int expected = reset ? 2 : 1;
    auto count = [&line](const std::string& log) {
      int n = 0;
      for (size_t at = log.find(line); at != std::string::npos;
           at = log.find(line, at + 1)) {
        ++n;
      }
      return n;
    };
    std::string log = server_->log();
    while (count(log) < expected && absl::Now() - gone < absl::Seconds(20)) {
      absl::SleepFor(absl::Milliseconds(20));
      log = server_->log();
    }
    EXPECT_EQ(count(log), expected)
        << log.substr(log.size() > 3000 ? log.size() - 3000 : 0);
    EXPECT_LT(absl::Now() - gone, absl::Seconds(3) * kSlowdown);
  }
}

}  // namespace
}  // namespace attnr

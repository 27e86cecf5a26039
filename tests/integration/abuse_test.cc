// The abuse battery's quick cases (issue 32; the long ones are in
// bench/abuse.py): the real server with the shipped configuration (dense,
// entity and LLM views) sent text built to make the models read without
// bound. Each is answered or refused with a clear status, its model work
// stays within the budgets, and the server's peak memory grows by less than
// 512 MB over all of them.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

class AbuseTest : public ::testing::Test {
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

ServerProcess* AbuseTest::server_ = nullptr;

attnr::v1::RetrieveRequest RequestFor(const std::string& query,
                                      const std::string& document,
                                      bool llm) {
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
      std::printf("%s (%s): %.0f ms, %u passages, %u model tokens, %u "
                  "unjudged, %u over a window\n",
                  abuse.name.c_str(), llm ? "llm" : "default",
                  absl::ToDoubleMilliseconds(absl::Now() - start),
                  response->usage().passages(),
                  response->usage().encoded_tokens(),
                  response->usage().unjudged_passages(),
                  response->usage().oversized_passages());
      // Units are bounded: a 1 MiB document makes hundreds of them.
      EXPECT_GE(response->usage().passages(),
                abuse.text.size() / 2048 / 2);
      EXPECT_LE(response->usage().encoded_tokens(), llm ? 1024u + 64 : 6144u + 64);
    }
  }
  const int64_t grew = server_->PeakRssBytes() - before;
  std::printf("peak RSS grew by %.1f MB\n", grew / 1048576.0);
  EXPECT_LT(grew, int64_t{512} << 20);
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
  ASSERT_TRUE(server.Start(
      "dense_model: \"all-minilm-l6-v2\"\nmax_call_seconds: 1\n"))
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

}  // namespace
}  // namespace attnr

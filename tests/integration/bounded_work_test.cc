// Bounded work, end to end through the real server binary: oversized
// documents refused before memory is spent, cancelled calls that stop their
// encode and free their worker, concurrent first calls sharing one encode,
// a bounded queue, and a drain that ends on time.
#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/retriever_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/test_server.h"

namespace attnr {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(60);

// A document of about `words` tokens that no other test sends (a unique
// first line), so its first call encodes it.
std::string FreshDocument(int words) {
  static std::atomic<int> serial{0};
  std::string doc = absl::StrCat("Document ", ++serial, " of run ",
                                 absl::ToUnixNanos(absl::Now()), ".\n\n");
  const char* sentence[] = {"The", "committee", "reviewed", "the", "figures",
                            "and", "the",       "garden",   "was", "green."};
  for (int i = 0; i < words; ++i) {
    absl::StrAppend(&doc, sentence[i % 10], " ");
    if (i % 200 == 199) doc += "\n\n";
  }
  return doc;
}

attnr::v1::RetrieveRequest RequestFor(const std::string& text) {
  attnr::v1::RetrieveRequest request;
  request.set_query("what did the committee review");
  request.add_documents()->set_text(text);
  return request;
}

// The pinned dense model (from the model cache) with no neural budget: a
// first call embeds every passage of its document.
std::string ModelConfig(const std::string& extra) {
  return absl::StrCat(
      "limits { max_document_tokens: 80000 max_request_tokens: 100000 }\n"
      "views { dense { model: \"all-minilm-l6-v2\" } }\n",
      extra);
}

TEST(BoundedWorkTest, OversizedDocumentsAreRefusedBeforeMemoryIsSpent) {
  // Byte limits raised so the 64 MiB documents reach the token and
  // sentence counts (the shipped config refuses them by bytes at once).
  ServerProcess server;
  ASSERT_TRUE(
      server.Start("transport { max_message_bytes: 83886080 }\n"
                   "limits { max_document_bytes: 83886080\n"
                   "max_request_bytes: 83886080 max_document_tokens: 250000\n"
                   "max_document_sentences: 250000 }\n"))
      << server.error();
  RetrieverClient client(server.target());
  ASSERT_TRUE(
      client.Retrieve(RequestFor("A small warm-up document."), kTimeout).ok());
  const int64_t before = server.PeakRssBytes();
  ASSERT_GT(before, 0);

  const size_t size = (64u << 20) - (64u << 10);
  struct Case {
    std::string unit;
    std::string limit;
  };
  for (const Case& c : {Case{"a ", "(max_document_tokens)"},
                        Case{"!\n", "(max_document_sentences)"}}) {
    std::string text;
    text.reserve(size);
    while (text.size() + c.unit.size() <= size) text += c.unit;
    const absl::Time start = absl::Now();
    auto response = client.Retrieve(RequestFor(text), kTimeout);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted)
        << c.unit << ": " << response.status();
    EXPECT_THAT(response.status().message(),
                HasSubstr(absl::StrCat("documents[0]: has more")))
        << c.limit;
    EXPECT_THAT(response.status().message(), HasSubstr(c.limit));
    const int64_t growth = server.PeakRssBytes() - before;
    std::printf("%s x %zu bytes: refused in %.0f ms, peak RSS +%.1f MB\n",
                c.unit == "a " ? "'a '" : "'!\\n'", size,
                absl::ToDoubleMilliseconds(absl::Now() - start), growth / 1e6);
    if (kMeasuresMemory) {
      EXPECT_LT(growth, int64_t{512} << 20) << "peak RSS grew by " << growth;
    }
  }
  // Still serving.
  EXPECT_TRUE(
      client.Retrieve(RequestFor("The committee reviewed it."), kTimeout).ok());
}

TEST(BoundedWorkTest, CancelledEncodeStopsAndFreesItsWorker) {
  ServerProcess server;
  ASSERT_TRUE(
      server.Start(ModelConfig("admission { max_neural_requests: 1 }\n")))
      << server.error();
  auto channel =
      grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials());
  auto stub = attnr::v1::Retriever::NewStub(channel);

  // A long first call: its encode takes far longer than the wait below.
  const attnr::v1::RetrieveRequest long_request =
      RequestFor(FreshDocument(20000));
  grpc::ClientContext long_context;
  grpc::Status long_status;
  std::thread long_call([&] {
    attnr::v1::RetrieveResponse response;
    long_status = stub->Retrieve(&long_context, long_request, &response);
  });
  // The cheap call's channel is connected beforehand, so the time measured
  // below is the server's.
  RetrieverClient client(server.target());
  ASSERT_TRUE(client.Health("", absl::Seconds(5)).ok());
  absl::SleepFor(absl::Milliseconds(400 * kSlowdown));
  long_context.TryCancel();
  const absl::Time cancelled_at = absl::Now();

  // The only worker must come free for a cheap call at once.
  attnr::v1::RetrieveRequest cheap = RequestFor("The committee met.");
  cheap.mutable_options()->add_views(attnr::v1::SCORING_VIEW_LEXICAL);
  auto response = client.Retrieve(cheap, absl::Seconds(10));
  const absl::Duration waited = absl::Now() - cancelled_at;
  long_call.join();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(long_status.error_code(), grpc::StatusCode::CANCELLED);
  std::printf("cheap call answered %.1f ms after the cancel\n",
              absl::ToDoubleMilliseconds(waited));
  EXPECT_LT(waited, absl::Milliseconds(200 * kSlowdown));

  // The access log says what the client got.
  EXPECT_THAT(server.LogWith("status=CANCELLED"),
              HasSubstr("access method=Retrieve status=CANCELLED"));
  // Asked again, the document is judged whole: what the cancelled call
  // finished was kept, the rest is embedded now.
  auto again = client.Retrieve(long_request, kTimeout * kSlowdown);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->usage().cache_hit());
  EXPECT_GT(again->usage().encoded_tokens(), 0u);
  EXPECT_EQ(again->usage().unjudged_passages(), 0u);
}

// Eight concurrent first calls for one document embed its passages once
// between them: together they encode what one call alone encodes, plus
// each call's own query.
TEST(BoundedWorkTest, ConcurrentFirstCallsShareOneEncode) {
  const attnr::v1::RetrieveRequest request = RequestFor(FreshDocument(8000));
  uint64_t alone = 0;
  uint64_t query = 0;
  {
    ServerProcess server;
    ASSERT_TRUE(
        server.Start(ModelConfig("admission { max_neural_requests: 1 }\n")))
        << server.error();
    RetrieverClient client(server.target());
    auto first = client.Retrieve(request, kTimeout * kSlowdown);
    ASSERT_TRUE(first.ok()) << first.status();
    auto repeat = client.Retrieve(request, kTimeout);
    ASSERT_TRUE(repeat.ok()) << repeat.status();
    ASSERT_TRUE(repeat->usage().cache_hit());
    alone = first->usage().encoded_tokens();
    query = repeat->usage().encoded_tokens();  // The query's own tokens.
  }
  ASSERT_GT(alone, 8000u);
  ASSERT_GT(query, 0u);

  ServerProcess server;
  ASSERT_TRUE(
      server.Start(ModelConfig("admission { max_neural_requests: 8 "
                               "max_neural_requests_per_client: 0 }\n")))
      << server.error();
  constexpr int kCalls = 8;
  std::vector<absl::StatusOr<attnr::v1::RetrieveResponse>> responses(
      kCalls, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  absl::Notification go;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      RetrieverClient client(server.target());
      go.WaitForNotification();
      responses[i] = client.Retrieve(request, kTimeout * kSlowdown);
    });
  }
  go.Notify();
  for (std::thread& t : threads) t.join();
  uint64_t encoded = 0;
  for (const auto& r : responses) {
    ASSERT_TRUE(r.ok()) << r.status();
    encoded += r->usage().encoded_tokens();
    EXPECT_EQ(r->usage().unjudged_passages(), 0u);
    ASSERT_FALSE(r->passages().empty());
    EXPECT_EQ(r->passages(0).range().start_byte(),
              responses[0]->passages(0).range().start_byte());
  }
  EXPECT_EQ(encoded, alone + (kCalls - 1) * query);
}

TEST(BoundedWorkTest, FullQueueIsRefusedAtOnceNamingTheLimit) {
  ServerProcess server;
  ASSERT_TRUE(
      server.Start(ModelConfig("admission { max_neural_requests: 1\n"
                               "max_queued_neural_requests: 2\n"
                               "max_neural_requests_per_client: 0 }\n")))
      << server.error();
  constexpr int kCalls = 8;
  std::vector<absl::Status> statuses(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      RetrieverClient client(server.target());
      statuses[i] =
          client.Retrieve(RequestFor(FreshDocument(8000)), kTimeout * kSlowdown)
              .status();
    });
  }
  for (std::thread& t : threads) t.join();
  int refused = 0, served = 0;
  for (const absl::Status& s : statuses) {
    if (s.ok()) ++served;
    if (s.code() == absl::StatusCode::kResourceExhausted) {
      ++refused;
      EXPECT_THAT(s.message(), HasSubstr("(max_queued_neural_requests)"));
    }
  }
  EXPECT_GE(served, 1);
  EXPECT_GE(refused, 1);
  EXPECT_EQ(served + refused, kCalls);
}

TEST(BoundedWorkTest, WaitingCallsHoldNoThreads) {
  ServerProcess server;
  ASSERT_TRUE(
      server.Start(ModelConfig("admission { max_neural_requests: 1\n"
                               "max_queued_neural_requests: 500\n"
                               "max_neural_requests_per_client: 0 }\n")))
      << server.error();
  const int idle = server.Threads();
  constexpr int kCalls = 150;
  std::vector<std::thread> threads;
  std::atomic<int> answered{0};
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&] {
      RetrieverClient client(server.target());
      // Short deadlines: most calls expire in the queue.
      auto r = client.Retrieve(RequestFor(FreshDocument(5000)),
                               absl::Seconds(4 * kSlowdown));
      if (r.ok() || r.status().code() == absl::StatusCode::kDeadlineExceeded) {
        ++answered;
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(1500 * kSlowdown));
  const int busy = server.Threads();
  for (std::thread& t : threads) t.join();
  std::printf("server threads: %d idle, %d with %d calls waiting\n", idle, busy,
              kCalls);
  EXPECT_EQ(answered.load(), kCalls);
  // One worker and gRPC's own threads, not a thread per waiting call.
  EXPECT_LT(busy, idle + 16);
}

// Starts `calls` long first calls on their own threads (joined by the
// caller) and waits until the server has begun the first.
std::vector<std::thread> StartLongCalls(const ServerProcess& server, int calls,
                                        std::vector<absl::Status>* statuses) {
  statuses->assign(calls, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < calls; ++i) {
    threads.emplace_back([&server, statuses, i] {
      RetrieverClient client(server.target());
      (*statuses)[i] =
          client.Retrieve(RequestFor(FreshDocument(70000)), kTimeout).status();
    });
  }
  absl::SleepFor(absl::Milliseconds(300 * kSlowdown));
  return threads;
}

TEST(BoundedWorkTest, DrainEndsOnTimeWithCallsStillRunning) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(
      ModelConfig("admission { drain_seconds: 1 max_neural_requests: 1 }\n")))
      << server.error();
  std::vector<absl::Status> statuses;
  std::vector<std::thread> calls = StartLongCalls(server, 4, &statuses);
  const absl::Time signalled = absl::Now();
  server.Signal(SIGTERM);
  // Health turns NOT_SERVING at once while the listener is still up.
  RetrieverClient client(server.target());
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> health =
      absl::UnknownError("not asked");
  for (int i = 0; i < 20; ++i) {
    health = client.Health("", absl::Milliseconds(200));
    if (health.ok() &&
        *health == grpc::health::v1::HealthCheckResponse::NOT_SERVING) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // New calls are refused while draining.
  auto late =
      client.Retrieve(RequestFor("The committee met."), absl::Seconds(5));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnavailable);

  const int exit_code = server.Wait();
  const absl::Duration took = absl::Now() - signalled;
  for (std::thread& t : calls) t.join();
  std::printf("exit %d after %.0f ms (drain_seconds 1)\n", exit_code,
              absl::ToDoubleMilliseconds(took));
  EXPECT_LT(took, absl::Seconds(2) + absl::Milliseconds(500 * (kSlowdown - 1)));
  // Calls were cut off: the exit code says the drain was not clean.
  EXPECT_EQ(exit_code, 3);
  int cut_off = 0;
  int unavailable = 0;
  for (const absl::Status& s : statuses) {
    cut_off += s.ok() ? 0 : 1;
    // The server stopped them: UNAVAILABLE (retry elsewhere), not the
    // CANCELLED a client reads as its own cancel.
    if (s.code() == absl::StatusCode::kUnavailable &&
        absl::StrContains(s.message(), "shutting down")) {
      ++unavailable;
    }
    EXPECT_NE(s.code(), absl::StatusCode::kCancelled) << s;
  }
  EXPECT_GE(cut_off, 1);
  EXPECT_GE(unavailable, 1);
}

TEST(BoundedWorkTest, SecondSignalExitsAtOnce) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(
      ModelConfig("admission { drain_seconds: 60 max_neural_requests: 1 }\n")))
      << server.error();
  std::vector<absl::Status> statuses;
  std::vector<std::thread> calls = StartLongCalls(server, 3, &statuses);
  server.Signal(SIGTERM);
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time second = absl::Now();
  const int exit_code = server.Stop(SIGINT);
  const absl::Duration took = absl::Now() - second;
  for (std::thread& t : calls) t.join();
  EXPECT_EQ(exit_code, 128 + SIGINT);
  EXPECT_LT(took, absl::Seconds(1) * kSlowdown);
}

// Fair admission of neural work: a client (a connection) over its share is
// refused at once naming the limit; another client is still served.
TEST(BoundedWorkTest, AClientOverItsNeuralShareIsRefusedOthersAreServed) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(
      ModelConfig("admission { max_neural_requests_per_client: 1 }\n")))
      << server.error();
  client::ClientOptions own;
  own.own_connection = true;
  RetrieverClient greedy(server.target(), own);
  RetrieverClient other(server.target(), own);
  std::vector<absl::Status> greedy_statuses(3);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      greedy_statuses[i] =
          greedy
              .Retrieve(RequestFor(FreshDocument(20000)), kTimeout * kSlowdown)
              .status();
    });
  }
  absl::SleepFor(absl::Milliseconds(200 * kSlowdown));
  const absl::Status served =
      other.Retrieve(RequestFor(FreshDocument(2000)), kTimeout * kSlowdown)
          .status();
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(served.ok()) << served;
  int ok = 0, refused = 0;
  for (const absl::Status& s : greedy_statuses) {
    if (s.ok()) ++ok;
    if (s.code() == absl::StatusCode::kResourceExhausted) {
      ++refused;
      EXPECT_THAT(s.message(), HasSubstr("(max_neural_requests_per_client)"));
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(refused, 1);
  EXPECT_EQ(ok + refused, 3);
}

// `attnr bench` drives mixed load (cheap and neural, good and bad
// requests) over several connections: every call gets the status its
// request deserves, the server keeps serving, and its memory comes back
// near where it started.
TEST(BoundedWorkTest, MixedLoadFromAttnrBenchGetsTheExpectedStatuses) {
  ServerProcess server;
  ASSERT_TRUE(server.Start(ModelConfig(""))) << server.error();
  const std::string doc = WriteFile("bench_doc.txt", FreshDocument(3000));
  const std::string queries = WriteFile(
      "bench_queries.jsonl",
      "{\"query\": \"what did the committee review\", \"views\": \"lexical\"}\n"
      "{\"query\": \"what did the committee review\", \"views\": "
      "\"lexical,dense\"}\n"
      "{\"query\": \"   \"}\n"
      "{\"query\": \"garden\", \"views\": [\"llm\"]}\n");
  auto bench = [&](int requests) {
    return RunShell(absl::StrCat(
        ATTNR_CLI_BIN, " bench --target ", server.target(), " --doc ", doc,
        " --queries ", queries, " --concurrency 4 --connections 2 --requests ",
        requests, " --json"));
  };
  // Warm up (the document's analysis and embeddings, the allocator's
  // pools), then measure.
  ASSERT_EQ(bench(40).exit_code, 0);
  const int64_t before = server.RssBytes();
  const CommandResult run = bench(400);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json report = nlohmann::json::parse(run.out);
  EXPECT_EQ(report["requests"], 400);
  // Round robin over the four lines: two good, an empty query, a view this
  // server does not serve.
  EXPECT_EQ(report["statuses"]["OK"], 200) << run.out;
  EXPECT_EQ(report["statuses"]["INVALID_ARGUMENT"], 200) << run.out;
  EXPECT_EQ(report["statuses"].size(), 2u) << run.out;
  EXPECT_GT(report["latency_ms"]["p99"].get<double>(), 0.0);
  EXPECT_GT(report["throughput_rps"].get<double>(), 0.0);

  RetrieverClient client(server.target());
  auto health = client.Health("", absl::Seconds(5));
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::SERVING);
  if (kMeasuresMemory) {
    const int64_t after = server.RssBytes();
    std::printf("server RSS: %lld MB before, %lld MB after 400 calls\n",
                static_cast<long long>(before >> 20),
                static_cast<long long>(after >> 20));
    EXPECT_LT(after, before + (64 << 20));
  }
  // The bench's own bounds are usage errors.
  const CommandResult too_many = RunShell(absl::StrCat(
      ATTNR_CLI_BIN, " bench --target ", server.target(), " --doc ", doc,
      " --query x --concurrency 1000 --requests 1"));
  EXPECT_EQ(too_many.exit_code, 2);
  EXPECT_THAT(too_many.err, HasSubstr("--concurrency must be 1..256"));
}

}  // namespace
}  // namespace attnr

#include "model/views/model_gate.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace attnr::views {
namespace {

using Work = ModelGate::Work;

// Waits until `n` callers are queued at the gate.
void AwaitWaiting(const ModelGate& gate, size_t n) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (gate.waiting() < n && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(gate.waiting(), n);
}

TEST(ModelGateTest, QueryStepsGoFirstThenDocumentsInArrivalOrder) {
  ModelGate gate;
  absl::Mutex mu;
  std::vector<std::string> order;
  auto held = gate.Take(StopSignal(), "test");
  ASSERT_TRUE(held.ok());
  std::optional<ModelGate::Turn> first(*std::move(held));

  std::vector<std::thread> threads;
  auto arrive = [&](std::string name, Work work, size_t queued_before) {
    AwaitWaiting(gate, queued_before);
    threads.emplace_back([&, name, work] {
      auto turn = gate.Take(StopSignal(), "test", work);
      ASSERT_TRUE(turn.ok());
      absl::MutexLock lock(&mu);
      order.push_back(name);
    });
  };
  arrive("doc1", Work::kDocument, 0);
  arrive("doc2", Work::kDocument, 1);
  arrive("query1", Work::kQuery, 2);
  arrive("doc3", Work::kDocument, 3);
  arrive("query2", Work::kQuery, 4);
  AwaitWaiting(gate, 5);
  first.reset();  // Release: the waiting turns run one after another.
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<std::string>{"query1", "query2", "doc1", "doc2",
                                             "doc3"}));
  EXPECT_EQ(gate.waiting(), 0u);
}

TEST(ModelGateTest, AWaiterWhoseDeadlinePassesLeavesTheLine) {
  ModelGate gate;
  auto held = gate.Take(StopSignal(), "test");
  ASSERT_TRUE(held.ok());
  std::optional<ModelGate::Turn> first(*std::move(held));
  auto late = gate.Take(StopSignal(absl::Now() + absl::Milliseconds(30)),
                        "dense encode");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(late.status().message().find("dense encode"), std::string::npos);
  EXPECT_EQ(gate.waiting(), 0u);
  // The line is not blocked by the caller who left.
  std::atomic<bool> cancelled{true};
  EXPECT_EQ(gate.Take(StopSignal(absl::InfiniteFuture(), &cancelled), "x")
                .status()
                .code(),
            absl::StatusCode::kCancelled);
  first.reset();
  EXPECT_TRUE(gate.Take(StopSignal(), "test", Work::kDocument).ok());
}

}  // namespace
}  // namespace attnr::views

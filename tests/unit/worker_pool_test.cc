#include "server/worker_pool.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/status_mapping.h"

namespace attnr::server {
namespace {

TEST(WorkerPoolTest, RunsWorkInArrivalOrderAndRefusesPastTheQueue) {
  absl::Notification release;
  std::vector<int> order;
  absl::Mutex mu;
  {
    WorkerPool pool(/*threads=*/1, /*max_queued=*/2);
    ASSERT_TRUE(pool.Submit([&] { release.WaitForNotification(); }).ok());
    // Wait until the one thread holds the blocking work.
    while (pool.running() != 1) absl::SleepFor(absl::Milliseconds(1));
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(pool.Submit([&, i] {
                        absl::MutexLock lock(&mu);
                        order.push_back(i);
                      })
                      .ok());
    }
    const absl::Status full = pool.Submit([] {});
    EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(full.message(), ::testing::HasSubstr("(max_queued_requests)"));
    EXPECT_EQ(pool.queued(), 2u);
    release.Notify();
  }  // The destructor runs what is queued, then joins.
  EXPECT_THAT(order, ::testing::ElementsAre(0, 1));
}

TEST(WorkerPoolTest, RunsOnAtMostItsThreads) {
  std::atomic<int> now{0}, most{0};
  {
    WorkerPool pool(/*threads=*/3, /*max_queued=*/100);
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(pool.Submit([&] {
                        const int n = ++now;
                        int seen = most.load();
                        while (n > seen &&
                               !most.compare_exchange_weak(seen, n)) {
                        }
                        absl::SleepFor(absl::Milliseconds(2));
                        --now;
                      })
                      .ok());
    }
  }
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 2);
}

TEST(WorkerPoolTest, ServesClientsInTurnNotInArrivalOrder) {
  absl::Notification release;
  std::vector<std::string> order;
  absl::Mutex mu;
  {
    WorkerPool pool(WorkerPool::Options{/*threads=*/1, /*max_queued=*/10});
    ASSERT_TRUE(
        pool.Submit([&] { release.WaitForNotification(); }, "flood").ok());
    while (pool.running() != 1) absl::SleepFor(absl::Milliseconds(1));
    auto record = [&](std::string name) {
      return [&, name] {
        absl::MutexLock lock(&mu);
        order.push_back(name);
      };
    };
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(pool.Submit(record(absl::StrCat("flood", i)), "flood").ok());
    }
    ASSERT_TRUE(pool.Submit(record("quiet0"), "quiet").ok());
    ASSERT_TRUE(pool.Submit(record("quiet1"), "quiet").ok());
    release.Notify();
  }
  // The quiet client, never served, goes first; then the two alternate.
  EXPECT_THAT(order, ::testing::ElementsAre("quiet0", "flood0", "quiet1",
                                            "flood1", "flood2"));
}

TEST(WorkerPoolTest, RefusesAClientOverItsShare) {
  absl::Notification release;
  WorkerPool pool(WorkerPool::Options{/*threads=*/1, /*max_queued=*/10,
                                      /*max_per_client=*/2, "max_queued",
                                      "max_neural_requests_per_client"});
  ASSERT_TRUE(pool.Submit([&] { release.WaitForNotification(); }, "a").ok());
  ASSERT_TRUE(pool.Submit([] {}, "a").ok());
  const absl::Status over = pool.Submit([] {}, "a");
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(over.message(),
              ::testing::HasSubstr("this client has 2 calls queued or "
                                   "running, the limit "
                                   "(max_neural_requests_per_client)"));
  EXPECT_EQ(RetryAfterOf(over), absl::Seconds(1));
  EXPECT_TRUE(pool.Submit([] {}, "b").ok());  // Another client still gets in.
  release.Notify();
}

TEST(WorkerPoolTest, ThenRunsOnceTheCallNoLongerCountsForItsClient) {
  absl::Notification second_done;
  absl::Status second = absl::UnknownError("not submitted");
  WorkerPool pool(WorkerPool::Options{/*threads=*/1, /*max_queued=*/4,
                                      /*max_per_client=*/1, "max_queued",
                                      "max_per_client"});
  // A client at its share sends its next call the moment it has an answer
  // (`then` is where the answer is sent): it is admitted.
  ASSERT_TRUE(pool.Submit([] {}, "a",
                          [&] {
                            second =
                                pool.Submit([&] { second_done.Notify(); }, "a");
                          })
                  .ok());
  second_done.WaitForNotificationWithTimeout(absl::Seconds(10));
  EXPECT_TRUE(second.ok()) << second;
}

}  // namespace
}  // namespace attnr::server

#include "server/worker_pool.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

}  // namespace
}  // namespace attnr::server

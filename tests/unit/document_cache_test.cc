#include "model/document_cache.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace attnr {
namespace {

struct Sized {
  size_t size;
  size_t bytes() const { return size; }
};

std::shared_ptr<const Sized> Of(size_t size) {
  return std::make_shared<const Sized>(Sized{size});
}

TEST(DocumentCacheTest, EvictsTheLeastRecentlyUsedToStayWithinBytes) {
  DocumentCache<Sized> cache(100);
  cache.Put("a", Of(40));
  cache.Put("b", Of(40));
  EXPECT_EQ(cache.bytes(), 80u);
  ASSERT_NE(cache.Get("a"), nullptr);  // Now "b" is the least recent.
  cache.Put("c", Of(40));
  EXPECT_EQ(cache.Get("b"), nullptr);
  EXPECT_NE(cache.Get("a"), nullptr);
  EXPECT_NE(cache.Get("c"), nullptr);
  EXPECT_EQ(cache.bytes(), 80u);
  EXPECT_EQ(cache.entries(), 2u);
}

TEST(DocumentCacheTest, ReplacingAKeyRecountsItsBytes) {
  DocumentCache<Sized> cache(100);
  cache.Put("a", Of(30));
  cache.Put("a", Of(70));
  EXPECT_EQ(cache.bytes(), 70u);
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.Get("a")->size, 70u);
}

TEST(DocumentCacheTest, AnEntryLargerThanTheBudgetIsNotKept) {
  DocumentCache<Sized> cache(100);
  cache.Put("a", Of(50));
  cache.Put("huge", Of(101));
  EXPECT_EQ(cache.Get("huge"), nullptr);
  EXPECT_NE(cache.Get("a"), nullptr);  // Nothing evicted for it.
  EXPECT_EQ(cache.bytes(), 50u);
}

TEST(DocumentCacheTest, ConcurrentCallersOfOneKeyShareOneCreate) {
  DocumentCache<Sized> cache(1000);
  std::atomic<int> creates{0};
  absl::Notification release;
  std::vector<CacheOutcome> outcomes(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto value = cache.GetOrCreate(
          "doc",
          [&]() -> absl::StatusOr<std::shared_ptr<const Sized>> {
            ++creates;
            release.WaitForNotification();
            return Of(10);
          },
          StopSignal(), &outcomes[i]);
      ASSERT_TRUE(value.ok());
      EXPECT_EQ((*value)->size, 10u);
    });
  }
  absl::SleepFor(absl::Milliseconds(100));  // Let every caller arrive.
  release.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(creates.load(), 1);
  EXPECT_EQ(
      std::count(outcomes.begin(), outcomes.end(), CacheOutcome::kCreated), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), CacheOutcome::kShared),
            7);
  CacheOutcome later;
  ASSERT_TRUE(cache
                  .GetOrCreate(
                      "doc",
                      []() -> absl::StatusOr<std::shared_ptr<const Sized>> {
                        return absl::InternalError("not called");
                      },
                      StopSignal(), &later)
                  .ok());
  EXPECT_EQ(later, CacheOutcome::kHit);
}

TEST(DocumentCacheTest, AWaiterStopsOnItsOwnSignalAndAFailureIsNotShared) {
  DocumentCache<Sized> cache(1000);
  absl::Notification maker_started, release;
  std::thread maker([&] {
    auto value = cache.GetOrCreate(
        "doc",
        [&]() -> absl::StatusOr<std::shared_ptr<const Sized>> {
          maker_started.Notify();
          release.WaitForNotification();
          return absl::CancelledError("maker's caller went away");
        },
        StopSignal());
    EXPECT_EQ(value.status().code(), absl::StatusCode::kCancelled);
  });
  maker_started.WaitForNotification();
  // A waiter whose deadline passes stops waiting.
  auto expired = cache.GetOrCreate(
      "doc",
      []() -> absl::StatusOr<std::shared_ptr<const Sized>> { return Of(1); },
      StopSignal(absl::Now() + absl::Milliseconds(30)));
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kDeadlineExceeded);
  // A waiter with time makes the value itself once the maker fails.
  CacheOutcome outcome;
  std::thread waiter([&] {
    auto value = cache.GetOrCreate(
        "doc",
        []() -> absl::StatusOr<std::shared_ptr<const Sized>> { return Of(7); },
        StopSignal(), &outcome);
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ((*value)->size, 7u);
  });
  absl::SleepFor(absl::Milliseconds(50));
  release.Notify();
  maker.join();
  waiter.join();
  EXPECT_EQ(outcome, CacheOutcome::kCreated);
}

}  // namespace
}  // namespace attnr

#include "model/runtime/torch_thread.h"

#include <omp.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace attnr::runtime {
namespace {

std::thread::id RunnerOf() {
  std::thread::id id;
  TorchThread::Get().Run([&] { id = std::this_thread::get_id(); });
  return id;
}

TEST(TorchThreadTest, EveryCallerIsServedByTheSameOtherThread) {
  const std::thread::id runner = RunnerOf();
  EXPECT_NE(runner, std::this_thread::get_id());
  std::vector<std::thread::id> seen(4);
  std::vector<std::thread> callers;
  for (auto& id : seen) {
    callers.emplace_back([&id] { id = RunnerOf(); });
  }
  for (auto& t : callers) t.join();
  for (const auto& id : seen) EXPECT_EQ(id, runner);
}

TEST(TorchThreadTest, OpenMPSettingsMadeForOneCallerHoldForTheNext) {
  // LibTorch's intra-op thread count is an OpenMP setting of the calling
  // thread: set once at load, it must hold for requests from other threads.
  int before = 0;
  TorchThread::Get().Run([&] {
    before = omp_get_max_threads();
    omp_set_num_threads(1);
  });
  int seen = 0;
  std::thread caller(
      [&] { TorchThread::Get().Run([&] { seen = omp_get_max_threads(); }); });
  caller.join();
  EXPECT_EQ(seen, 1);
  TorchThread::Get().Run([&] { omp_set_num_threads(before); });
}

TEST(TorchThreadTest, AnExceptionReachesTheCallerAndTheThreadGoesOn) {
  EXPECT_THROW(TorchThread::Get().Run(
                   [] { throw std::runtime_error("from the torch thread"); }),
               std::runtime_error);
  int ran = 0;
  TorchThread::Get().Run([&] { ++ran; });
  EXPECT_EQ(ran, 1);
}

TEST(TorchThreadTest, ACallFromTheThreadItselfRunsInPlace) {
  std::thread::id outer, inner;
  TorchThread::Get().Run([&] {
    outer = std::this_thread::get_id();
    TorchThread::Get().Run([&] { inner = std::this_thread::get_id(); });
  });
  EXPECT_EQ(inner, outer);
}

TEST(TorchThreadTest, ConcurrentCallersRunOneAtATime) {
  // A plain int: every increment runs on the one thread, one job at a time,
  // so none is lost.
  int count = 0;
  std::vector<std::thread> callers;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&count] {
      for (int i = 0; i < 200; ++i) TorchThread::Get().Run([&] { ++count; });
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(count, 8 * 200);
}

}  // namespace
}  // namespace attnr::runtime

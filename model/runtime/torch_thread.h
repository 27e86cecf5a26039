#ifndef ATTNR_MODEL_RUNTIME_TORCH_THREAD_H_
#define ATTNR_MODEL_RUNTIME_TORCH_THREAD_H_

#include <deque>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace attnr::runtime {

// The one thread that runs the process's LibTorch work (loading, encoding,
// read-outs), whichever thread asks for it.
//
// Why: LibTorch's intra-op threads are an OpenMP team, and libgomp keeps a
// team per calling thread. Called from gRPC's many handler threads, each
// got a team of its own; with more OpenMP threads than cores libgomp stops
// spinning and puts idle threads to sleep, and every one of the encoder's
// thousands of small parallel regions then waits for a wake-up (an encode
// took half as long again from another thread; MODEL_CARD.md, "Engineering
// measurements"). The model's calls
// are serialized anyway (one at a time uses both cores), so funnelling them
// through one thread costs no concurrency.
class TorchThread {
 public:
  // The process-wide instance (started on first use, never stopped).
  static TorchThread& Get();

  TorchThread(const TorchThread&) = delete;
  TorchThread& operator=(const TorchThread&) = delete;

  // Runs `work` on the thread and returns when it has finished; an
  // exception it throws is rethrown here. Called from the thread itself,
  // runs `work` directly.
  void Run(absl::FunctionRef<void()> work);

 private:
  struct Job;
  TorchThread();
  void Loop();

  absl::Mutex mu_;
  std::deque<Job*> queue_ ABSL_GUARDED_BY(mu_);
  std::thread::id id_;
};

}  // namespace attnr::runtime

#endif  // ATTNR_MODEL_RUNTIME_TORCH_THREAD_H_

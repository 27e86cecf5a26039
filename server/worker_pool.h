#ifndef ATTNR_SERVER_WORKER_POOL_H_
#define ATTNR_SERVER_WORKER_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace attnr::server {

// A fixed set of threads that run calls' work in arrival order, with a
// bounded queue in front. Waiting calls hold a queue entry, not a thread:
// the process's threads stay bounded however many calls arrive, and past
// the queue's bound a call is refused at once instead of waiting unseen.
class WorkerPool {
 public:
  WorkerPool(size_t threads, size_t max_queued);
  // Runs what is queued, then joins the threads.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `work`. RESOURCE_EXHAUSTED (naming max_queued_requests) when
  // the queue is full; the work is then not run.
  absl::Status Submit(std::function<void()> work);

  size_t queued() const;
  size_t running() const;

 private:
  void Loop();

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_WORKER_POOL_H_

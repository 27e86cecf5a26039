#ifndef ATTNR_SERVER_WORKER_POOL_H_
#define ATTNR_SERVER_WORKER_POOL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace attnr::server {

// A fixed set of threads that run calls' work, with a bounded queue in
// front. Waiting calls hold a queue entry, not a thread: the process's
// threads stay bounded however many calls arrive, and past the queue's
// bound a call is refused at once instead of waiting unseen.
//
// Fair between clients: a free thread takes the earliest waiting work of
// the client with the fewest calls running, of those the one served least
// recently (round robin), so a client flooding the pool delays another
// client's call by about one call, not by its whole backlog; and a client
// may hold at most `max_per_client` calls (queued and running) at once.
class WorkerPool {
 public:
  struct Options {
    size_t threads = 1;
    size_t max_queued = 0;
    // 0: no per-client limit.
    size_t max_per_client = 0;
    // Named in refusals: the config fields that set the bounds.
    std::string queue_limit_name = "max_queued_requests";
    std::string client_limit_name;
  };

  explicit WorkerPool(Options options);
  WorkerPool(size_t threads, size_t max_queued)
      : WorkerPool(Options{threads, max_queued}) {}
  // Runs what is queued, then joins the threads.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `work` for `client`; `then` (if any) runs on the same thread
  // once the call no longer counts against the client's share, so the
  // client's next call, sent as soon as it has its answer, is not refused
  // for the call it has finished. RESOURCE_EXHAUSTED with a retry hint
  // (status_mapping.h), naming the limit, when the queue or the client's
  // share is full; nothing is then run.
  absl::Status Submit(std::function<void()> work, std::string client = "",
                      std::function<void()> then = nullptr);

  size_t queued() const;
  size_t running() const;

 private:
  struct Entry {
    std::function<void()> work;
    std::string client;
    std::function<void()> then;
  };
  void Loop();

  const Options options_;
  mutable absl::Mutex mu_;
  std::list<Entry> queue_ ABSL_GUARDED_BY(mu_);  // Arrival order.
  size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  struct Client {
    size_t running = 0;
    size_t held = 0;  // Queued and running.
    uint64_t last_served = 0;
  };
  // Clients with calls held.
  absl::flat_hash_map<std::string, Client> clients_ ABSL_GUARDED_BY(mu_);
  uint64_t served_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_WORKER_POOL_H_

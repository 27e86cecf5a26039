#include "server/worker_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/status_mapping.h"

namespace attnr::server {

WorkerPool::WorkerPool(Options options) : options_(std::move(options)) {
  threads_.reserve(options_.threads);
  for (size_t i = 0; i < options_.threads; ++i)
    threads_.emplace_back([this] { Loop(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

absl::Status WorkerPool::Submit(std::function<void()> work, std::string client,
                                std::function<void()> then) {
  absl::MutexLock lock(&mu_);
  if (queue_.size() >= options_.max_queued) {
    return OverloadedError(
        absl::StrCat("server busy: ", running_, " calls running and ",
                     queue_.size(), " waiting, the limit (",
                     options_.queue_limit_name, "); retry later"),
        absl::Seconds(1));
  }
  Client& c = clients_[client];
  if (options_.max_per_client > 0 && c.held >= options_.max_per_client) {
    return OverloadedError(
        absl::StrCat("this client has ", c.held,
                     " calls queued or running, the limit (",
                     options_.client_limit_name, "); retry later"),
        absl::Seconds(1));
  }
  ++c.held;
  queue_.push_back({std::move(work), std::move(client), std::move(then)});
  return absl::OkStatus();
}

size_t WorkerPool::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

size_t WorkerPool::running() const {
  absl::MutexLock lock(&mu_);
  return running_;
}

void WorkerPool::Loop() {
  while (true) {
    Entry entry;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // Stopping, and nothing left to run.
      // The earliest work of the client with the fewest calls running,
      // served least recently.
      auto next = queue_.end();
      std::pair<size_t, uint64_t> best;
      for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        const Client& c = clients_[it->client];
        const std::pair<size_t, uint64_t> key = {c.running, c.last_served};
        if (next == queue_.end() || key < best) {
          next = it;
          best = key;
        }
      }
      entry = std::move(*next);
      queue_.erase(next);
      Client& c = clients_[entry.client];
      ++c.running;
      c.last_served = ++served_;
      ++running_;
    }
    entry.work();
    entry.work = nullptr;  // Release what it holds before the books say so.
    {
      absl::MutexLock lock(&mu_);
      --running_;
      auto it = clients_.find(entry.client);
      --it->second.running;
      if (--it->second.held == 0) clients_.erase(it);
    }
    if (entry.then) entry.then();
  }
}

}  // namespace attnr::server

#ifndef ATTNR_MODEL_DOCUMENT_CACHE_H_
#define ATTNR_MODEL_DOCUMENT_CACHE_H_

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "model/stop_signal.h"

namespace attnr {

// Where GetOrCreate's value came from.
enum class CacheOutcome {
  kHit,      // Already cached.
  kCreated,  // Made by this call.
  kShared,   // Made by a concurrent call this one waited for.
};

// What the service derives from a document, by key (content hash plus what
// else it depends on: model digest, analysis options), least recently used
// first out, bounded in bytes. T is an encoded document (attention keys) or
// an analyzed one (tokens, sentences); it reports its size with bytes().
// The service stays stateless to its callers: a miss only costs the work
// again, so repeated questions about one long document are cheap without
// anyone managing sessions. Thread-safe.
template <typename T>
class DocumentCache {
 public:
  explicit DocumentCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}
  size_t capacity() const { return capacity_; }

  std::shared_ptr<const T> Get(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
  }

  // The value for `key`: from the cache, or made by `create` and cached.
  // Single-flight: while one caller runs `create` for a key, other callers
  // of the same key wait for its result instead of making it again (eight
  // concurrent first calls for one document encode it once). A waiter gives
  // up when its own `stop` fires; a maker's failure is not shared (it may
  // be its caller's: gone, out of time, over its budget), so a waiter then
  // makes the value itself. *outcome (optional) says where the value came
  // from.
  absl::StatusOr<std::shared_ptr<const T>> GetOrCreate(
      const std::string& key,
      absl::FunctionRef<absl::StatusOr<std::shared_ptr<const T>>()> create,
      const StopSignal& stop, CacheOutcome* outcome = nullptr) {
    CacheOutcome ignored;
    if (outcome == nullptr) outcome = &ignored;
    *outcome = CacheOutcome::kHit;
    while (true) {
      std::shared_ptr<Flight> flight;
      bool leader = false;
      {
        absl::MutexLock lock(&mu_);
        if (auto it = index_.find(key); it != index_.end()) {
          lru_.splice(lru_.begin(), lru_, it->second);
          return it->second->second;
        }
        auto [it, inserted] = flights_.try_emplace(key);
        if (inserted) it->second = std::make_shared<Flight>();
        flight = it->second;
        leader = inserted;
      }
      if (leader) {
        absl::StatusOr<std::shared_ptr<const T>> made = create();
        *outcome = CacheOutcome::kCreated;
        if (made.ok()) Put(key, *made);
        {
          absl::MutexLock lock(&mu_);
          flights_.erase(key);
        }
        absl::MutexLock lock(&flight->mu);
        flight->result = made;
        flight->done = true;
        return made;
      }
      // Wait in short slices so that this caller's own cancellation is
      // noticed while the maker works.
      absl::MutexLock lock(&flight->mu);
      while (!flight->mu.AwaitWithTimeout(absl::Condition(&flight->done),
                                          absl::Milliseconds(10))) {
        if (absl::Status s = stop.Check("cache wait"); !s.ok()) return s;
      }
      if (flight->result.ok()) {
        *outcome = CacheOutcome::kShared;
        return flight->result;
      }
      if (absl::Status s = stop.Check("cache wait"); !s.ok()) return s;
      // The maker failed, maybe for its own caller's reasons (gone, out of
      // time, over that request's budget): make the value under this
      // caller's terms.
    }
  }

  // Inserts (or refreshes) `key`; evicts the least recently used entries
  // until the total fits. An entry larger than the capacity is not kept.
  void Put(const std::string& key, std::shared_ptr<const T> value) {
    const size_t size = value->bytes();
    absl::MutexLock lock(&mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      bytes_ -= it->second->second->bytes();
      lru_.erase(it->second);
      index_.erase(it);
    }
    if (size > capacity_) return;
    while (bytes_ + size > capacity_ && !lru_.empty()) {
      bytes_ -= lru_.back().second->bytes();
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    lru_.emplace_front(key, std::move(value));
    index_[key] = lru_.begin();
    bytes_ += size;
  }

  size_t bytes() const {
    absl::MutexLock lock(&mu_);
    return bytes_;
  }
  size_t entries() const {
    absl::MutexLock lock(&mu_);
    return lru_.size();
  }

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const T>>;
  // One value being made, shared by everyone waiting for it.
  struct Flight {
    absl::Mutex mu;
    bool done ABSL_GUARDED_BY(mu) = false;
    absl::StatusOr<std::shared_ptr<const T>> result ABSL_GUARDED_BY(mu);
  };
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // Most recent first.
  absl::flat_hash_map<std::string, typename std::list<Entry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace attnr

#endif  // ATTNR_MODEL_DOCUMENT_CACHE_H_

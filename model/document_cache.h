#ifndef ATTNR_MODEL_DOCUMENT_CACHE_H_
#define ATTNR_MODEL_DOCUMENT_CACHE_H_

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace attnr {

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

  std::shared_ptr<const T> Get(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
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
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // Most recent first.
  absl::flat_hash_map<std::string, typename std::list<Entry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace attnr

#endif  // ATTNR_MODEL_DOCUMENT_CACHE_H_

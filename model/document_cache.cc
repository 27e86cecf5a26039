#include "model/document_cache.h"

namespace attnr {

DocumentCache::DocumentCache(size_t capacity_bytes)
    : capacity_(capacity_bytes) {}

std::shared_ptr<const network::EncodedDocument> DocumentCache::Get(
    const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void DocumentCache::Put(
    const std::string& key,
    std::shared_ptr<const network::EncodedDocument> document) {
  const size_t size = document->bytes();
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
  lru_.emplace_front(key, std::move(document));
  index_[key] = lru_.begin();
  bytes_ += size;
}

size_t DocumentCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

size_t DocumentCache::entries() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace attnr

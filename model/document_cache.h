#ifndef ATTNR_MODEL_DOCUMENT_CACHE_H_
#define ATTNR_MODEL_DOCUMENT_CACHE_H_

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "model/network/attention_model.h"

namespace attnr {

// Encoded documents by key (content hash + model digest), least recently
// used first out, bounded in bytes. The service stays stateless to its
// callers: a miss only costs an encode, so repeated questions about one long
// document are cheap without anyone managing sessions. Thread-safe.
class DocumentCache {
 public:
  explicit DocumentCache(size_t capacity_bytes);

  std::shared_ptr<const network::EncodedDocument> Get(const std::string& key);
  // Inserts (or refreshes) `key`; evicts the least recently used entries
  // until the total fits. An entry larger than the capacity is not kept.
  void Put(const std::string& key,
           std::shared_ptr<const network::EncodedDocument> document);

  size_t bytes() const;
  size_t entries() const;

 private:
  using Entry =
      std::pair<std::string, std::shared_ptr<const network::EncodedDocument>>;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::list<Entry> lru_ ABSL_GUARDED_BY(mu_);  // Most recent first.
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_
      ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace attnr

#endif  // ATTNR_MODEL_DOCUMENT_CACHE_H_

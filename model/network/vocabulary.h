#ifndef ATTNR_MODEL_NETWORK_VOCABULARY_H_
#define ATTNR_MODEL_NETWORK_VOCABULARY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/text/tokenizer.h"

namespace attnr::network {

// Maps the service's word tokens (Token::norm) to embedding rows: the most
// frequent GloVe words get their own row, ids [0, word_count); any other
// word shares one of `buckets` rows chosen by a hash of its form, ids
// [word_count, size). Ids follow the tokenizer, so every model position is a
// Token with exact offsets.
class Vocabulary {
 public:
  // `words`: one word per line, most frequent first.
  static absl::StatusOr<Vocabulary> Create(absl::string_view words,
                                           uint32_t buckets);

  uint32_t Id(absl::string_view norm) const;
  std::vector<int64_t> Ids(const std::vector<text::Token>& tokens,
                           uint32_t begin, uint32_t end) const;

  uint32_t word_count() const { return static_cast<uint32_t>(words_.size()); }
  uint32_t buckets() const { return buckets_; }
  uint32_t size() const { return word_count() + buckets_; }
  // The words, one per line (the form Create reads).
  std::string Serialize() const;

 private:
  std::vector<std::string> words_;
  absl::flat_hash_map<std::string, uint32_t> ids_;
  uint32_t buckets_ = 0;
};

}  // namespace attnr::network

#endif  // ATTNR_MODEL_NETWORK_VOCABULARY_H_

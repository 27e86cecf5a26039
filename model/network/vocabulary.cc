#include "model/network/vocabulary.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace attnr::network {
namespace {

// FNV-1a: stable across platforms and releases, unlike std::hash, so a
// word's bucket is the same in the trainer and every server build.
uint64_t Fnv1a(absl::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

absl::StatusOr<Vocabulary> Vocabulary::Create(absl::string_view words,
                                              uint32_t buckets) {
  if (buckets == 0) {
    return absl::InvalidArgumentError("vocabulary needs at least one bucket");
  }
  Vocabulary v;
  v.buckets_ = buckets;
  for (absl::string_view w : absl::StrSplit(words, '\n', absl::SkipEmpty())) {
    auto [it, inserted] =
        v.ids_.emplace(std::string(w), static_cast<uint32_t>(v.words_.size()));
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocabulary repeats the word '", w, "'"));
    }
    v.words_.emplace_back(w);
  }
  if (v.words_.empty()) return absl::InvalidArgumentError("empty vocabulary");
  return v;
}

uint32_t Vocabulary::Id(absl::string_view norm) const {
  auto it = ids_.find(norm);
  if (it != ids_.end()) return it->second;
  return word_count() + static_cast<uint32_t>(Fnv1a(norm) % buckets_);
}

std::vector<int64_t> Vocabulary::Ids(const std::vector<text::Token>& tokens,
                                     uint32_t begin, uint32_t end) const {
  std::vector<int64_t> ids;
  ids.reserve(end - begin);
  for (uint32_t i = begin; i < end; ++i) ids.push_back(Id(tokens[i].norm));
  return ids;
}

std::string Vocabulary::Serialize() const {
  return absl::StrCat(absl::StrJoin(words_, "\n"), "\n");
}

}  // namespace attnr::network

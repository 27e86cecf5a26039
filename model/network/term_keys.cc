#include "model/network/term_keys.h"

#include <string>

#include "absl/hash/hash.h"
#include "model/scoring/term_analyzer.h"

namespace attnr::network {

std::vector<int64_t> TermKeys(const std::vector<text::Token>& tokens,
                              uint32_t begin, uint32_t end) {
  // libstemmer keeps state per stemmer: one per thread.
  thread_local scoring::TermAnalyzer analyzer;
  std::vector<int64_t> keys;
  keys.reserve(end - begin);
  for (uint32_t i = begin; i < end; ++i) {
    const std::string term = analyzer.Term(tokens[i].norm);  // "": stopword.
    int64_t key = 0;
    if (!term.empty()) {
      key = static_cast<int64_t>(absl::HashOf(term));
      if (key == 0) key = 1;  // 0 is reserved for "no term".
    }
    keys.push_back(key);
  }
  return keys;
}

}  // namespace attnr::network

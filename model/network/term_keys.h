#ifndef ATTNR_MODEL_NETWORK_TERM_KEYS_H_
#define ATTNR_MODEL_NETWORK_TERM_KEYS_H_

#include <cstdint>
#include <vector>

#include "model/text/tokenizer.h"

namespace attnr::network {

// The index term of each token as a number, for the read-out's term match:
// two tokens share a key exactly when the lexical view would count them as
// the same term (Snowball stem of the normalised word), and stopwords get 0,
// which matches nothing. The keys are process-local
// hashes: compare them, never store them.
std::vector<int64_t> TermKeys(const std::vector<text::Token>& tokens,
                              uint32_t begin, uint32_t end);

}  // namespace attnr::network

#endif  // ATTNR_MODEL_NETWORK_TERM_KEYS_H_

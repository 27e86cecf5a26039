#ifndef ATTNR_MODEL_RUNTIME_DIGEST_H_
#define ATTNR_MODEL_RUNTIME_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace attnr::runtime {

// SHA-256 (OpenSSL) of `data`: 32 raw bytes, or 64 hex characters.
std::string Sha256(absl::string_view data);
std::string Sha256Hex(absl::string_view data);

}  // namespace attnr::runtime

#endif  // ATTNR_MODEL_RUNTIME_DIGEST_H_

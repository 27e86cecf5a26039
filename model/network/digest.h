#ifndef ATTNR_MODEL_NETWORK_DIGEST_H_
#define ATTNR_MODEL_NETWORK_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"

namespace attnr::network {

// SHA-256 (OpenSSL) of `data`: 32 raw bytes, or 64 hex characters.
std::string Sha256(absl::string_view data);
std::string Sha256Hex(absl::string_view data);

}  // namespace attnr::network

#endif  // ATTNR_MODEL_NETWORK_DIGEST_H_

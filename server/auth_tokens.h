#ifndef ATTNR_SERVER_AUTH_TOKENS_H_
#define ATTNR_SERVER_AUTH_TOKENS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnr::server {

// Bearer tokens (auth_tokens_file): callers of every method but health
// send `authorization: Bearer <token>` (gRPC metadata or HTTP header).
// The file has one token per line, optionally named (`name:token`; the name
// is what logs, metrics and fairness see, never the token); blank lines and
// lines starting with '#' are skipped. Only digests of the tokens are kept,
// and a presented token is compared with every one in constant time.
class AuthTokens {
 public:
  static absl::StatusOr<AuthTokens> Load(const std::string& path);

  // The caller's name for an `authorization` value, or UNAUTHENTICATED
  // naming what is wrong.
  absl::StatusOr<std::string> Check(absl::string_view authorization) const;

  size_t size() const { return tokens_.size(); }

 private:
  // (SHA-256 hex of the token, name).
  std::vector<std::pair<std::string, std::string>> tokens_;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_AUTH_TOKENS_H_

#include "model/runtime/digest.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace attnr::runtime {

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

std::string Sha256Hex(absl::string_view data) {
  return absl::BytesToHexString(Sha256(data));
}

absl::Status CheckPinnedSha256(absl::string_view what, absl::string_view actual,
                               absl::string_view pinned,
                               absl::string_view setting) {
  if (pinned.empty() || pinned == actual) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(what, " has SHA-256 ", actual, ", the configuration pins ",
                   pinned, " (", setting, "): a different or damaged file"));
}

}  // namespace attnr::runtime

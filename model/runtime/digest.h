#ifndef ATTNR_MODEL_RUNTIME_DIGEST_H_
#define ATTNR_MODEL_RUNTIME_DIGEST_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnr::runtime {

// SHA-256 (OpenSSL) of `data`: 32 raw bytes, or 64 hex characters.
std::string Sha256(absl::string_view data);
std::string Sha256Hex(absl::string_view data);

// SHA-256 of a file's bytes as 64 hex characters, read in blocks (a model
// file of gigabytes is not held in memory); NOT_FOUND when it cannot be
// read. Every model's digest (the pins, the caches' keys) is this.
absl::StatusOr<std::string> FileSha256Hex(const std::string& path);

// The one check of a pinned artefact: OK when `pinned` is empty (not
// pinned) or equals `actual`, else FAILED_PRECONDITION naming `what` (the
// file), both digests and the configuration `setting` that pins it.
absl::Status CheckPinnedSha256(absl::string_view what, absl::string_view actual,
                               absl::string_view pinned,
                               absl::string_view setting);

}  // namespace attnr::runtime

#endif  // ATTNR_MODEL_RUNTIME_DIGEST_H_

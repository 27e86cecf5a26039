#ifndef ATTNR_MODEL_RUNTIME_LIMIT_ERROR_H_
#define ATTNR_MODEL_RUNTIME_LIMIT_ERROR_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace attnr::runtime {

// The payload a limit's RESOURCE_EXHAUSTED carries: the limit's setting
// name. Callers decide on it (a document over the request's remaining
// budget is the request's error), never on the message's text.
inline constexpr absl::string_view kLimitPayloadUrl =
    "type.attnr.dev/attnr.Limit";

// RESOURCE_EXHAUSTED with `message`, naming `setting` (e.g.
// "max_request_tokens") as its payload.
inline absl::Status LimitError(absl::string_view setting,
                               absl::string_view message) {
  absl::Status status = absl::ResourceExhaustedError(message);
  status.SetPayload(kLimitPayloadUrl, absl::Cord(setting));
  return status;
}

// The setting a LimitError names, or nullopt for any other status.
inline std::optional<std::string> ExceededLimit(const absl::Status& status) {
  auto payload = status.GetPayload(kLimitPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return std::string(*payload);
}

}  // namespace attnr::runtime

#endif  // ATTNR_MODEL_RUNTIME_LIMIT_ERROR_H_

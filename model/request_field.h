#ifndef ATTNR_MODEL_REQUEST_FIELD_H_
#define ATTNR_MODEL_REQUEST_FIELD_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace attnr {

// The part of a call's input an error is about, in the model's own terms;
// the server names it in the API's (server/api_mapping.h), so the model
// knows no field path of any API.
enum class RequestField {
  kQuery,
  kViews,
  kViewWeights,
  kDocuments,         // The documents as a whole (their total size).
  kDocument,          // One document's text, by index.
  kContextText,       // A Score call's context document.
  kPassageText,       // A Score passage given as text, by index.
  kPassageCharRange,  // A Score passage given as a code-point range.
  kPassageByteRange,  // ... as a byte range.
};

struct FieldRef {
  RequestField field;
  int index = -1;  // For the fields of one document or passage.
};

inline constexpr absl::string_view kFieldPayloadUrl =
    "type.attnr.dev/attnr.RequestField";

// `status` (its code, message and payloads) marked as about `field`.
inline absl::Status AtField(absl::Status status, RequestField field,
                            int index = -1) {
  status.SetPayload(
      kFieldPayloadUrl,
      absl::Cord(absl::StrCat(static_cast<int>(field), ":", index)));
  return status;
}

// The field a status is about, or nullopt.
inline std::optional<FieldRef> FieldOf(const absl::Status& status) {
  auto payload = status.GetPayload(kFieldPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  const std::string text(*payload);
  const size_t colon = text.find(':');
  int field = 0;
  int index = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(text.substr(0, colon), &field) ||
      !absl::SimpleAtoi(text.substr(colon + 1), &index)) {
    return std::nullopt;
  }
  return FieldRef{static_cast<RequestField>(field), index};
}

}  // namespace attnr

#endif  // ATTNR_MODEL_REQUEST_FIELD_H_

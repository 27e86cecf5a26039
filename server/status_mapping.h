#ifndef ATTNR_SERVER_STATUS_MAPPING_H_
#define ATTNR_SERVER_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace attnr::server {

// The one place a status leaves the server: absl::Status becomes a gRPC
// status (code for code: both follow google.rpc.Code) or an HTTP status
// code; the message passes through unchanged, so a bad request reads the
// same through either transport.

// RESOURCE_EXHAUSTED means two things callers must tell apart: a request
// over a size limit (fix the request: HTTP 413) and a busy server (retry
// later: HTTP 429 with Retry-After). Overload errors carry this payload;
// its value is the suggested wait in whole seconds.
inline constexpr absl::string_view kRetryAfterPayload =
    "type.attnr.dev/attnr.v1.RetryAfter";

// RESOURCE_EXHAUSTED for a busy server, suggesting a retry after `wait`.
absl::Status OverloadedError(absl::string_view message, absl::Duration wait);

// The suggested wait of an overload error; zero for any other status.
absl::Duration RetryAfterOf(const absl::Status& status);

grpc::Status ToGrpcStatus(const absl::Status& status);

// 200 for OK; 400 INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE;
// 401 UNAUTHENTICATED; 403 PERMISSION_DENIED; 404 NOT_FOUND; 409 ALREADY_
// EXISTS, ABORTED; 413 RESOURCE_EXHAUSTED (a size limit); 429 RESOURCE_
// EXHAUSTED (overload); 499 CANCELLED; 501 UNIMPLEMENTED; 503 UNAVAILABLE;
// 504 DEADLINE_EXCEEDED; 500 anything else.
int ToHttpStatus(const absl::Status& status);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_STATUS_MAPPING_H_

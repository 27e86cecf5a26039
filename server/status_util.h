#ifndef ATTNR_SERVER_STATUS_UTIL_H_
#define ATTNR_SERVER_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace attnr::server {

// The one place absl::Status becomes grpc::Status. Both follow the canonical
// status codes (google.rpc.Code), so the mapping is code for code and the
// message passes through unchanged.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_STATUS_UTIL_H_

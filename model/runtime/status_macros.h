#ifndef ATTNR_MODEL_RUNTIME_STATUS_MACROS_H_
#define ATTNR_MODEL_RUNTIME_STATUS_MACROS_H_

// The two status macros Abseil keeps internal (Debian's Abseil does not
// export them): return a failed absl::Status early, or bind the value of an
// absl::StatusOr.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ATTNR_STATUS_CONCAT_INNER_(a, b) a##b
#define ATTNR_STATUS_CONCAT_(a, b) ATTNR_STATUS_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr): returns the status of `expr` (an absl::Status)
// when it is not OK.
#define RETURN_IF_ERROR(expr)                                         \
  do {                                                                \
    if (::absl::Status attnr_status_ = (expr); !attnr_status_.ok()) { \
      return attnr_status_;                                           \
    }                                                                 \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>),
// returns its status when it is not OK, else moves its value into `lhs`
// (a declaration such as `auto x` or an existing variable).
#define ASSIGN_OR_RETURN(lhs, expr) \
  ATTNR_ASSIGN_OR_RETURN_IMPL_(     \
      ATTNR_STATUS_CONCAT_(attnr_statusor_, __LINE__), lhs, expr)

#define ATTNR_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)  \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#endif  // ATTNR_MODEL_RUNTIME_STATUS_MACROS_H_

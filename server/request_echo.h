#ifndef ATTNR_SERVER_REQUEST_ECHO_H_
#define ATTNR_SERVER_REQUEST_ECHO_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace attnr::server {

// What of a request's own text an error message (and so the access log)
// may repeat: a short name such as a misspelt field, view or path
// ("top_kk", "/v1/retreive"), quoted, and nothing else. Anything longer
// than `max_bytes` or holding other than [A-Za-z0-9_./-] is described by
// its size instead ("a name of 63000000 bytes"), so a message never carries
// a body's text, however the request was made.
std::string EchoName(absl::string_view name, size_t max_bytes = 64);
// Whether EchoName would quote `name` (rather than describe it).
bool IsEchoable(absl::string_view name, size_t max_bytes = 64);

// `message` cut to at most `max_bytes` bytes (on a UTF-8 boundary, marked
// with "..."), for log lines of bounded length.
std::string BoundedForLog(absl::string_view message, size_t max_bytes = 512);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_REQUEST_ECHO_H_

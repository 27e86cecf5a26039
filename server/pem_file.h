#ifndef ATTNR_SERVER_PEM_FILE_H_
#define ATTNR_SERVER_PEM_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnr::server {

// The text of a TLS certificate or key file the config names in `field`
// (tls_cert_file, ...), or FAILED_PRECONDITION "<field>: cannot read
// <path>": the server cannot start on that configuration.
absl::StatusOr<std::string> ReadPemFile(const std::string& path,
                                        absl::string_view field);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_PEM_FILE_H_

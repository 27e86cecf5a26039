#include "server/pem_file.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnr::server {

absl::StatusOr<std::string> ReadPemFile(const std::string& path,
                                        absl::string_view field) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (!in || !(text << in.rdbuf())) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": cannot read ", path));
  }
  return text.str();
}

}  // namespace attnr::server

#include "server/request_echo.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace attnr::server {

bool IsEchoable(absl::string_view name, size_t max_bytes) {
  if (name.empty() || name.size() > max_bytes) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '.' && c != '/' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string EchoName(absl::string_view name, size_t max_bytes) {
  if (IsEchoable(name, max_bytes)) return absl::StrCat("'", name, "'");
  return absl::StrCat("a name of ", name.size(), " bytes");
}

std::string BoundedForLog(absl::string_view message, size_t max_bytes) {
  if (message.size() <= max_bytes) return std::string(message);
  size_t cut = max_bytes;
  // Back to the start of a UTF-8 sequence.
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return absl::StrCat(message.substr(0, cut), "... (", message.size(),
                      " bytes)");
}

}  // namespace attnr::server

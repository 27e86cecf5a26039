#include "server/auth_tokens.h"

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/runtime/digest.h"

namespace attnr::server {
namespace {

bool EqualInConstantTime(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;  // Digests: always equal length.
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace

absl::StatusOr<AuthTokens> AuthTokens::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("auth_tokens_file: cannot read ", path));
  }
  AuthTokens out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    std::string name = absl::StrCat("token-", out.tokens_.size() + 1);
    if (const size_t colon = l.find(':'); colon != absl::string_view::npos) {
      name = std::string(absl::StripAsciiWhitespace(l.substr(0, colon)));
      l = absl::StripAsciiWhitespace(l.substr(colon + 1));
    }
    if (l.empty() || name.empty() ||
        l.find_first_of(" \t") != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "auth_tokens_file: ", path, " line ", number,
          ": expected TOKEN or NAME:TOKEN (no spaces in the token)"));
    }
    out.tokens_.emplace_back(runtime::Sha256Hex(l), std::move(name));
  }
  if (out.tokens_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth_tokens_file: ", path, " holds no token"));
  }
  return out;
}

absl::StatusOr<std::string> AuthTokens::Check(
    absl::string_view authorization) const {
  absl::string_view value = absl::StripAsciiWhitespace(authorization);
  if (value.size() < 7 ||
      !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
    return absl::UnauthenticatedError(
        "authorization: a bearer token is required (authorization: Bearer "
        "<token>)");
  }
  const std::string digest =
      runtime::Sha256Hex(absl::StripAsciiWhitespace(value.substr(7)));
  const std::string* name = nullptr;
  for (const auto& [token_digest, token_name] : tokens_) {
    // Every token is compared: the time does not tell which one matched.
    if (EqualInConstantTime(digest, token_digest)) name = &token_name;
  }
  if (name == nullptr) {
    return absl::UnauthenticatedError("authorization: the token is not valid");
  }
  return *name;
}

}  // namespace attnr::server

#ifndef ATTNR_SERVER_SERVER_CONFIG_H_
#define ATTNR_SERVER_SERVER_CONFIG_H_

#include <filesystem>
#include <string>

#include "absl/status/statusor.h"
#include "proto/attnr/v1/config.pb.h"

namespace attnr::server {

// Reads a text-format attnr.v1.ServerConfig. Fields missing from the file
// keep the built-in defaults (DefaultServerConfig), so a config may name
// only what it changes.
absl::StatusOr<attnr::v1::ServerConfig> LoadServerConfig(
    const std::string& path);

// Built-in defaults, the same values as config/server.textproto.
attnr::v1::ServerConfig DefaultServerConfig();

// Checks that limits are consistent (e.g. default_top_k <= max_top_k).
absl::Status ValidateServerConfig(const attnr::v1::ServerConfig& config);

// Where a model folder setting points: a name without '/' is a pinned model
// in the model cache ($ATTNR_MODEL_CACHE, else ~/.cache/attnr/models); a
// relative path is relative to the config file's folder; "" stays "".
std::string ResolveModelFolder(const std::string& value,
                               const std::filesystem::path& config_dir);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_SERVER_CONFIG_H_

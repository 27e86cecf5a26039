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

// Checks that settings are consistent (e.g. limits.default_top_k <=
// limits.max_top_k), naming the setting by its path.
absl::Status ValidateServerConfig(const attnr::v1::ServerConfig& config);

// Where a flat setting of 0.4.0 lives in the grouped ServerConfig
// ("max_documents" -> "limits.max_documents"); "" for a removed setting.
// A config naming a flat setting is refused with this place.
std::string GroupedPlace(const std::string& flat_name);

// What the command line may override; empty or 0 keeps the config's value.
struct ConfigOverrides {
  std::string listen;          // transport.listen_address
  std::string http_listen;     // transport.http_listen_address
  std::string metrics_listen;  // transport.metrics_listen_address
  // views.dense.model / views.llm.model: a folder, file or pinned name;
  // "none" serves no such view. Another model than the config's drops its
  // pinned digest.
  std::string dense_model;
  std::string llm_model;
  int32_t threads = 0;  // views.intra_op_threads
};

// The one place a server's settings are decided: the config at
// `config_path` (LoadServerConfig: built-in defaults under the file's
// values), the command line's `overrides`, every path made absolute
// (models by ResolveModelFolder; read-outs, fusion, token and TLS files
// relative to the config file's folder), every "0: default" setting given
// its value, then ValidateServerConfig. Errors: NOT_FOUND (no file),
// INVALID_ARGUMENT naming the setting.
absl::StatusOr<attnr::v1::ServerConfig> ResolveServerConfig(
    const std::string& config_path, const ConfigOverrides& overrides);

// Where a model folder setting points: a name without '/' is a pinned model
// in the model cache ($ATTNR_MODEL_CACHE, else ~/.cache/attnr/models); a
// relative path is relative to the config file's folder; "" stays "".
std::string ResolveModelFolder(const std::string& value,
                               const std::filesystem::path& config_dir);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_SERVER_CONFIG_H_

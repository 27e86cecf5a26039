#ifndef ATTNR_SERVER_MODEL_CONFIG_H_
#define ATTNR_SERVER_MODEL_CONFIG_H_

#include "absl/status/statusor.h"
#include "model/retriever.h"
#include "proto/attnr/v1/config.pb.h"

namespace attnr::server {

// The model library's configuration from a resolved server config
// (ResolveServerConfig): the one place ServerConfig fields become
// RetrieverConfig ones.
absl::StatusOr<RetrieverConfig> ToRetrieverConfig(
    const attnr::v1::ServerConfig& config);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_MODEL_CONFIG_H_

#ifndef ATTNR_SERVER_CONNECTION_LIMITS_H_
#define ATTNR_SERVER_CONNECTION_LIMITS_H_

#include "absl/status/status.h"
#include "attnr/v1/config.pb.h"
#include "server/http_server.h"

namespace grpc {
class ServerBuilder;
}  // namespace grpc

namespace attnr::server {

// How long connections live and how much each may carry, on both
// transports: an idle or dead connection is closed instead of being held
// forever, a client that never finishes its handshake is dropped, and
// long-lived connections are asked to reconnect so that clients spread over
// replicas added later. Resolved from the config's transport (0: default).
struct ConnectionLimits {
  int max_connection_idle_ms = 0;
  int max_connection_age_ms = 0;
  int max_connection_age_grace_ms = 0;
  int keepalive_time_ms = 0;
  int keepalive_timeout_ms = 0;
  int handshake_timeout_ms = 0;
  int max_concurrent_streams = 0;
  int http_idle_timeout_seconds = 0;
  int http_keep_alive_max_requests = 0;
  int max_http_connections = 0;
  int max_http_connections_per_ip = 0;
  int http_request_timeout_seconds = 0;
};

// INVALID_ARGUMENT naming the field when a value is out of range.
absl::Status ValidateConnectionLimits(
    const attnr::v1::TransportConfig& transport);
// Gives every connection setting that is 0 its default (the built-in
// defaults and ResolveServerConfig call it: a 0 in a file means the
// default).
void SetConnectionDefaults(attnr::v1::TransportConfig* transport);
// The resolved config's connection settings, as the transports take them.
ConnectionLimits ResolveConnectionLimits(
    const attnr::v1::TransportConfig& transport);

void ApplyConnectionLimits(const ConnectionLimits& limits,
                           grpc::ServerBuilder* builder);
void ApplyConnectionLimits(const ConnectionLimits& limits,
                           HttpServer::Options* options);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_CONNECTION_LIMITS_H_

#include "server/connection_limits.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "grpcpp/server_builder.h"

namespace attnr::server {
namespace {

constexpr uint32_t kMaxMs = 24u * 3600 * 1000;

}  // namespace

absl::Status ValidateConnectionLimits(const attnr::v1::TransportConfig& c) {
  const struct {
    const char* name;
    uint32_t value;
    uint32_t max;
  } fields[] = {
      {"max_connection_idle_ms", c.max_connection_idle_ms(), kMaxMs},
      {"max_connection_age_ms", c.max_connection_age_ms(), kMaxMs},
      {"max_connection_age_grace_ms", c.max_connection_age_grace_ms(), kMaxMs},
      {"keepalive_time_ms", c.keepalive_time_ms(), kMaxMs},
      {"keepalive_timeout_ms", c.keepalive_timeout_ms(), kMaxMs},
      {"handshake_timeout_ms", c.handshake_timeout_ms(), kMaxMs},
      {"max_concurrent_streams", c.max_concurrent_streams(), 10000},
      {"http_idle_timeout_seconds", c.http_idle_timeout_seconds(), 3600},
      {"http_request_timeout_seconds", c.http_request_timeout_seconds(), 3600},
      {"max_http_connections", c.max_http_connections(), 100000},
      {"max_http_connections_per_ip", c.max_http_connections_per_ip(), 100000},
      {"http_keep_alive_max_requests", c.http_keep_alive_max_requests(),
       1000000},
  };
  for (const auto& f : fields) {
    if (f.value > f.max) {
      return absl::InvalidArgumentError(
          absl::StrCat("server config: transport.", f.name,
                       " must be <= ", f.max, " (0: default)"));
    }
  }
  if (c.keepalive_time_ms() != 0 && c.keepalive_time_ms() < 1000) {
    return absl::InvalidArgumentError(
        "server config: transport.keepalive_time_ms must be >= 1000 (0: "
        "default)");
  }
  return absl::OkStatus();
}

void SetConnectionDefaults(attnr::v1::TransportConfig* c) {
  using Config = attnr::v1::TransportConfig;
  const struct {
    uint32_t (Config::*get)() const;
    void (Config::*set)(uint32_t);
    uint32_t value;
  } defaults[] = {
      {&Config::max_connection_idle_ms, &Config::set_max_connection_idle_ms,
       120000},
      {&Config::max_connection_age_ms, &Config::set_max_connection_age_ms,
       1800000},
      {&Config::max_connection_age_grace_ms,
       &Config::set_max_connection_age_grace_ms, 60000},
      {&Config::keepalive_time_ms, &Config::set_keepalive_time_ms, 60000},
      {&Config::keepalive_timeout_ms, &Config::set_keepalive_timeout_ms, 20000},
      {&Config::handshake_timeout_ms, &Config::set_handshake_timeout_ms, 10000},
      {&Config::max_concurrent_streams, &Config::set_max_concurrent_streams,
       100},
      {&Config::http_idle_timeout_seconds,
       &Config::set_http_idle_timeout_seconds, 10},
      {&Config::max_http_connections, &Config::set_max_http_connections, 2048},
      {&Config::max_http_connections_per_ip,
       &Config::set_max_http_connections_per_ip, 128},
      {&Config::http_request_timeout_seconds,
       &Config::set_http_request_timeout_seconds, 30},
      {&Config::http_keep_alive_max_requests,
       &Config::set_http_keep_alive_max_requests, 100},
  };
  for (const auto& d : defaults) {
    if ((c->*d.get)() == 0) (c->*d.set)(d.value);
  }
}

ConnectionLimits ResolveConnectionLimits(const attnr::v1::TransportConfig& c) {
  ConnectionLimits l;
  l.max_connection_idle_ms = static_cast<int>(c.max_connection_idle_ms());
  l.max_connection_age_ms = static_cast<int>(c.max_connection_age_ms());
  l.max_connection_age_grace_ms =
      static_cast<int>(c.max_connection_age_grace_ms());
  l.keepalive_time_ms = static_cast<int>(c.keepalive_time_ms());
  l.keepalive_timeout_ms = static_cast<int>(c.keepalive_timeout_ms());
  l.handshake_timeout_ms = static_cast<int>(c.handshake_timeout_ms());
  l.max_concurrent_streams = static_cast<int>(c.max_concurrent_streams());
  l.http_idle_timeout_seconds = static_cast<int>(c.http_idle_timeout_seconds());
  l.max_http_connections = static_cast<int>(c.max_http_connections());
  l.max_http_connections_per_ip =
      static_cast<int>(c.max_http_connections_per_ip());
  l.http_request_timeout_seconds =
      static_cast<int>(c.http_request_timeout_seconds());
  l.http_keep_alive_max_requests =
      static_cast<int>(c.http_keep_alive_max_requests());
  return l;
}

void ApplyConnectionLimits(const ConnectionLimits& l,
                           grpc::ServerBuilder* builder) {
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                              l.max_connection_idle_ms);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                              l.max_connection_age_ms);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                              l.max_connection_age_grace_ms);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, l.keepalive_time_ms);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                              l.keepalive_timeout_ms);
  builder->AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                              l.handshake_timeout_ms);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                              l.max_concurrent_streams);
  // Clients may keep their connections alive with pings of their own, as
  // often as every 10 s, also between calls; gRPC's default (one ping per 5
  // minutes without data) answers keepalive-configured clients with
  // GOAWAY "too_many_pings".
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
}

void ApplyConnectionLimits(const ConnectionLimits& l,
                           HttpServer::Options* options) {
  options->idle_timeout_seconds = l.http_idle_timeout_seconds;
  options->max_requests_per_connection = l.http_keep_alive_max_requests;
  options->max_connections = l.max_http_connections;
  options->max_connections_per_ip = l.max_http_connections_per_ip;
  options->request_timeout_seconds = l.http_request_timeout_seconds;
}

}  // namespace attnr::server

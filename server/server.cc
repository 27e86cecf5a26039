#include "server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "model/runtime/status_macros.h"
#include "server/api_mapping.h"
#include "server/connection_limits.h"
#include "server/model_config.h"
#include "server/pem_file.h"

namespace attnr::server {
namespace {

// Plaintext, or TLS (with client certificates required when
// tls_client_ca_file is set).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const attnr::v1::ServerConfig& config) {
  if (config.transport().tls().cert_file().empty())
    return grpc::InsecureServerCredentials();
  ASSIGN_OR_RETURN(auto cert, ReadPemFile(config.transport().tls().cert_file(),
                                          "transport.tls.cert_file"));
  ASSIGN_OR_RETURN(auto key, ReadPemFile(config.transport().tls().key_file(),
                                         "transport.tls.key_file"));
  grpc::SslServerCredentialsOptions options(
      config.transport().tls().client_ca_file().empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_key_cert_pairs.push_back({key, cert});
  if (!config.transport().tls().client_ca_file().empty()) {
    ASSIGN_OR_RETURN(auto ca,
                     ReadPemFile(config.transport().tls().client_ca_file(),
                                 "transport.tls.client_ca_file"));
    options.pem_root_certs = ca;
  }
  return grpc::SslServerCredentials(options);
}

// Removes gRPC server reflection, which linking its library registers for
// every server (disable_reflection).
class WithoutReflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const auto& plugin) {
                                    return plugin->name().find("reflection") !=
                                           std::string::npos;
                                  }),
                   plugins->end());
  }
};

}  // namespace

Server::Server(const attnr::v1::ServerConfig& config)
    : config_(config), frontend_(config), service_(&frontend_) {}

Server::~Server() {
  if (server_ != nullptr && state_.load() != State::kExiting) {
    Shutdown(absl::ZeroDuration());
  }
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(
    const attnr::v1::ServerConfig& config) {
  std::unique_ptr<Server> server(new Server(config));
  if (!config.transport().auth().tokens_file().empty()) {
    ASSIGN_OR_RETURN(auto tokens,
                     AuthTokens::Load(config.transport().auth().tokens_file()));
    spdlog::info("authentication on: {} token(s)", tokens.size());
    server->frontend_.SetAuthTokens(std::move(tokens));
  }
  ASSIGN_OR_RETURN(auto credentials, ServerCredentials(config));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (config.transport().disable_reflection() ||
      !config.transport().auth().tokens_file().empty()) {
    if (!config.transport().disable_reflection()) {
      spdlog::info(
          "gRPC reflection off: authentication is on and reflection cannot "
          "check a token");
    }
    builder.SetOption(std::make_unique<WithoutReflection>());
  }
  builder.AddListeningPort(config.transport().listen_address(), credentials,
                           &server->port_);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(config.transport().max_message_bytes()));
  builder.SetMaxSendMessageSize(
      static_cast<int>(config.transport().max_message_bytes()));
  ApplyConnectionLimits(ResolveConnectionLimits(config.transport()), &builder);
  builder.RegisterService(&server->service_);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.transport().listen_address(),
                     " (address in use, or not a valid host:port?)"));
  }
  // Not serving until the model is loaded: load balancers and `attnr
  // health` must not send traffic to a server that would answer UNAVAILABLE.
  server->server_->GetHealthCheckService()->SetServingStatus(false);
  spdlog::info("listening on {} (port {})", config.transport().listen_address(),
               server->port_);
  if (!config.transport().http_listen_address().empty()) {
    auto http = HttpGateway::Create(config.transport().http_listen_address(),
                                    &server->frontend_);
    absl::Status started = http.ok() ? (*http)->Start() : http.status();
    if (!started.ok()) {
      server->Shutdown(absl::ZeroDuration());
      return started;
    }
    server->http_ = *std::move(http);
  }
  if (!config.transport().metrics_listen_address().empty()) {
    auto metrics = HttpGateway::CreateMetrics(
        config.transport().metrics_listen_address(), &server->frontend_);
    absl::Status started =
        metrics.ok() ? (*metrics)->Start() : metrics.status();
    if (!started.ok()) {
      server->Shutdown(absl::ZeroDuration());
      return started;
    }
    server->metrics_ = *std::move(metrics);
  }
  return server;
}

absl::Status Server::LoadModel() {
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(const RetrieverConfig rc, ToRetrieverConfig(config_));
  ASSIGN_OR_RETURN(auto retriever, attnr::Retriever::Create(rc));
  retriever_ = std::move(retriever);
  frontend_.SetRetriever(retriever_.get());
  state_.store(State::kReady);
  server_->GetHealthCheckService()->SetServingStatus(true);
  spdlog::info("model {}/{} ready in {:.1f} ms; serving",
               retriever_->description().name,
               retriever_->description().version,
               absl::ToDoubleMilliseconds(absl::Now() - start));
  return absl::OkStatus();
}

bool Server::Shutdown(absl::Duration drain) {
  state_.store(State::kExiting);
  // Load balancers and health probes see NOT_SERVING while the listener is
  // still up (not a refused connection), so they move traffic away.
  server_->GetHealthCheckService()->SetServingStatus(false);
  frontend_.StartDraining();
  spdlog::info("shutting down; draining in-flight calls for up to {:.1f} s",
               absl::ToDoubleSeconds(drain));
  const bool clean = frontend_.AwaitIdle(absl::Now() + drain);
  if (!clean) {
    spdlog::warn("drain_seconds passed with calls in flight; stopping them");
    frontend_.CancelAll();
  }
  // Calls still running get a moment to send their UNAVAILABLE; gRPC then
  // cancels whatever is left.
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(clean ? 0 : 500));
  server_->Wait();
  // HTTP calls still running finish (with UNAVAILABLE) before their threads
  // are joined.
  if (http_ != nullptr) http_->Stop();
  if (metrics_ != nullptr) metrics_->Stop();
  spdlog::info("server stopped ({})",
               clean ? "drained cleanly" : "calls cut off at drain_seconds");
  return clean;
}

}  // namespace attnr::server

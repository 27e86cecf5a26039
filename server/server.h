#ifndef ATTNR_SERVER_SERVER_H_
#define ATTNR_SERVER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/retriever.h"
#include "proto/attnr/v1/config.pb.h"
#include "server/frontend.h"
#include "server/http_gateway.h"
#include "server/retriever_service.h"

namespace attnr::server {

// Owns the frontend, its transports (the gRPC server, and the HTTP gateway
// when http_listen_address is set) and the model. Lifecycle:
//   Create()  -> listening, health NOT_SERVING (INITIALIZING)
//   LoadModel() -> model loaded, health SERVING (READY)
//   Shutdown()  -> health NOT_SERVING, drain in-flight calls (EXITING)
class Server {
 public:
  enum class State { kInitializing, kReady, kExiting };

  static absl::StatusOr<std::unique_ptr<Server>> Create(
      const attnr::v1::ServerConfig& config);
  ~Server();

  // Loads the model named by the config; on success the server is ready.
  absl::Status LoadModel();

  // Drain: health NOT_SERVING and new calls refused (UNAVAILABLE) at once;
  // calls in flight get up to `drain` to finish, then what is left is
  // stopped and the server shuts down. True when every call finished within
  // `drain`. A caller that needs a hard bound (main) runs this with a
  // timeout of its own: work that ignores its stop signal could hold it.
  bool Shutdown(absl::Duration drain);

  // The ports actually bound (useful with port 0); http_port() is 0
  // without an HTTP gateway.
  int port() const { return port_; }
  int http_port() const { return http_ == nullptr ? 0 : http_->port(); }
  int metrics_port() const {
    return metrics_ == nullptr ? 0 : metrics_->port();
  }
  State state() const { return state_.load(); }

 private:
  explicit Server(const attnr::v1::ServerConfig& config);

  const attnr::v1::ServerConfig config_;
  Frontend frontend_;
  RetrieverService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpGateway> http_;
  std::unique_ptr<HttpGateway> metrics_;
  std::unique_ptr<attnr::Retriever> retriever_;
  int port_ = 0;
  std::atomic<State> state_{State::kInitializing};
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_SERVER_H_

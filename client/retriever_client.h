#ifndef ATTNR_CLIENT_RETRIEVER_CLIENT_H_
#define ATTNR_CLIENT_RETRIEVER_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/attnr/v1/retriever.grpc.pb.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

namespace attnr::client {

// Request metadata every Retrieve, Prepare and Score (with a context) carries:
// the SHA-256 (hex) of the first document's text, for affinity routing.
inline constexpr absl::string_view kDocumentDigestHeader =
    "x-attnr-document-digest";

// How a client reaches the server.
struct ClientOptions {
  // Clients in one process share a connection to a target unless this is
  // set (the server tells clients apart by connection; `attnr bench
  // --connections`).
  bool own_connection = false;
  // Sent as `authorization: Bearer <token>` on every call (servers with
  // auth_tokens_file); empty: none.
  std::string token;
  // TLS: the PEM root certificates the server's certificate must chain to;
  // empty: plaintext. With a client certificate (PEM chain and key) for
  // servers that verify clients.
  std::string tls_root_pem;
  std::string tls_cert_pem;
  std::string tls_key_pem;
};

// A small synchronous client for attnr.v1.Retriever and grpc.health.v1,
// used by the `attnr` CLI, the tests and the bench harness. Every call takes
// its timeout, which becomes the RPC deadline. gRPC errors come back as
// absl::Status with the server's code and message.
class RetrieverClient {
 public:
  // `target` is a gRPC target such as "localhost:50051".
  explicit RetrieverClient(const std::string& target,
                           const ClientOptions& options = {});

  absl::StatusOr<attnr::v1::RetrieveResponse> Retrieve(
      const attnr::v1::RetrieveRequest& request, absl::Duration timeout);
  absl::StatusOr<attnr::v1::ScoreResponse> Score(
      const attnr::v1::ScoreRequest& request, absl::Duration timeout);
  absl::StatusOr<attnr::v1::PrepareResponse> Prepare(
      const attnr::v1::PrepareRequest& request, absl::Duration timeout);
  absl::StatusOr<attnr::v1::ModelInfo> GetModelInfo(absl::Duration timeout);
  // The serving status of `service` ("" = the whole server).
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> Health(
      const std::string& service, absl::Duration timeout);

 private:
  // Deadline, and the bearer token when there is one.
  void Setup(grpc::ClientContext* context, absl::Duration timeout) const;

  std::string token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<attnr::v1::Retriever::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// grpc::Status -> absl::Status, code for code.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace attnr::client

#endif  // ATTNR_CLIENT_RETRIEVER_CLIENT_H_

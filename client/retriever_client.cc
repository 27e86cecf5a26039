#include "client/retriever_client.h"

#include <atomic>
#include <chrono>
#include <string>

#include "model/runtime/digest.h"

namespace attnr::client {
namespace {

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(timeout));
}

// Lets a load balancer keep calls about one document on one replica (the
// one that has it cached): nginx `hash $http_x_attnr_document_digest`.
void SetAffinity(grpc::ClientContext* context, absl::string_view text) {
  context->AddMetadata(std::string(kDocumentDigestHeader),
                       runtime::Sha256Hex(text));
}

}  // namespace

void RetrieverClient::Setup(grpc::ClientContext* context,
                            absl::Duration timeout) const {
  SetDeadline(context, timeout);
  if (!token_.empty()) {
    context->AddMetadata("authorization", "Bearer " + token_);
  }
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

RetrieverClient::RetrieverClient(const std::string& target,
                                 const ClientOptions& options)
    : token_(options.token) {
  grpc::ChannelArguments args;
  if (options.own_connection) {
    // Channels with equal arguments share subchannels (and so connections)
    // even with a local subchannel pool: a distinct argument keeps this
    // channel's connection its own.
    static std::atomic<int> next_id{0};
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("attnr.connection_id", next_id.fetch_add(1));
  }
  // Responses carry passage text; the 4 MiB default is too small for a
  // large top_k over long passages. The server enforces its own limit.
  args.SetMaxReceiveMessageSize(256 << 20);
  args.SetMaxSendMessageSize(256 << 20);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!options.tls_root_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_root_pem;
    ssl.pem_cert_chain = options.tls_cert_pem;
    ssl.pem_private_key = options.tls_key_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  channel_ = grpc::CreateCustomChannel(target, credentials, args);
  stub_ = attnr::v1::Retriever::NewStub(channel_);
  health_ = grpc::health::v1::Health::NewStub(channel_);
}

absl::StatusOr<attnr::v1::RetrieveResponse> RetrieverClient::Retrieve(
    const attnr::v1::RetrieveRequest& request, absl::Duration timeout) {
  grpc::ClientContext context;
  Setup(&context, timeout);
  if (request.documents_size() > 0) {
    SetAffinity(&context, request.documents(0).text());
  }
  attnr::v1::RetrieveResponse response;
  grpc::Status status = stub_->Retrieve(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<attnr::v1::ScoreResponse> RetrieverClient::Score(
    const attnr::v1::ScoreRequest& request, absl::Duration timeout) {
  grpc::ClientContext context;
  Setup(&context, timeout);
  if (request.has_context()) SetAffinity(&context, request.context().text());
  attnr::v1::ScoreResponse response;
  grpc::Status status = stub_->Score(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<attnr::v1::PrepareResponse> RetrieverClient::Prepare(
    const attnr::v1::PrepareRequest& request, absl::Duration timeout) {
  grpc::ClientContext context;
  Setup(&context, timeout);
  if (request.documents_size() > 0) {
    SetAffinity(&context, request.documents(0).text());
  }
  attnr::v1::PrepareResponse response;
  grpc::Status status = stub_->Prepare(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<attnr::v1::ModelInfo> RetrieverClient::GetModelInfo(
    absl::Duration timeout) {
  grpc::ClientContext context;
  Setup(&context, timeout);
  attnr::v1::ModelInfo response;
  grpc::Status status = stub_->GetModelInfo(
      &context, attnr::v1::GetModelInfoRequest(), &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus>
RetrieverClient::Health(const std::string& service, absl::Duration timeout) {
  grpc::ClientContext context;
  Setup(&context, timeout);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health_->Check(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response.status();
}

}  // namespace attnr::client

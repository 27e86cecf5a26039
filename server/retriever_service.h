#ifndef ATTNR_SERVER_RETRIEVER_SERVICE_H_
#define ATTNR_SERVER_RETRIEVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "proto/attnr/v1/retriever.grpc.pb.h"
#include "server/frontend.h"

namespace attnr::server {

// The attnr.v1.Retriever gRPC service (callback API): a thin adapter over
// the Frontend, which runs every call. It turns the client's deadline and
// cancellation into the call's stop signal and the frontend's status into
// a gRPC status (status_mapping).
class RetrieverService final : public attnr::v1::Retriever::CallbackService {
 public:
  // `frontend` is not owned and must outlive the service.
  explicit RetrieverService(Frontend* frontend);

  grpc::ServerUnaryReactor* Retrieve(
      grpc::CallbackServerContext* context,
      const attnr::v1::RetrieveRequest* request,
      attnr::v1::RetrieveResponse* response) override;
  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* context,
                                  const attnr::v1::ScoreRequest* request,
                                  attnr::v1::ScoreResponse* response) override;
  grpc::ServerUnaryReactor* Prepare(
      grpc::CallbackServerContext* context,
      const attnr::v1::PrepareRequest* request,
      attnr::v1::PrepareResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(
      grpc::CallbackServerContext* context,
      const attnr::v1::GetModelInfoRequest* request,
      attnr::v1::ModelInfo* response) override;

 private:
  Frontend* const frontend_;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_RETRIEVER_SERVICE_H_

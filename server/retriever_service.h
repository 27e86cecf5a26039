#ifndef ATTNR_SERVER_RETRIEVER_SERVICE_H_
#define ATTNR_SERVER_RETRIEVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "proto/attnr/v1/retriever.grpc.pb.h"
#include "server/frontend.h"

namespace attnr::server {

// The raw (ByteBuffer) callback form of every method: the service parses
// requests itself, so a malformed or truncated message is INVALID_ARGUMENT
// naming the message type (gRPC's own parsing would answer UNIMPLEMENTED).
using RawRetrieverService =
    attnr::v1::Retriever::WithRawCallbackMethod_Retrieve<
        attnr::v1::Retriever::WithRawCallbackMethod_Score<
            attnr::v1::Retriever::WithRawCallbackMethod_Prepare<
                attnr::v1::Retriever::WithRawCallbackMethod_GetModelInfo<
                    attnr::v1::Retriever::Service>>>>;

// The attnr.v1.Retriever gRPC service (callback API): a thin adapter over
// the Frontend, which runs every call. It turns the client's deadline,
// cancellation and `authorization` metadata into the call's and the
// frontend's status into a gRPC status (status_mapping).
class RetrieverService final : public RawRetrieverService {
 public:
  // `frontend` is not owned and must outlive the service.
  explicit RetrieverService(Frontend* frontend);

  grpc::ServerUnaryReactor* Retrieve(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Prepare(grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;

 private:
  Frontend* const frontend_;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_RETRIEVER_SERVICE_H_

#include "server/retriever_service.h"

#include <grpcpp/support/proto_buffer_reader.h>

#include <atomic>
#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/request_text.h"
#include "server/status_mapping.h"

namespace attnr::server {
namespace {

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  // gRPC reports "no deadline" as the clock's maximum.
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

absl::string_view AuthorizationOf(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto it = metadata.find("authorization");
  if (it == metadata.end()) return "";
  return absl::string_view(it->second.data(), it->second.size());
}

// One gRPC call: the reactor gRPC drives, holding the frontend's call
// (whose destruction in OnDone writes the access log line) and the parsed
// request and response messages.
template <typename Request, typename Response>
class GrpcCall final : public grpc::ServerUnaryReactor {
 public:
  GrpcCall(Frontend* frontend, grpc::CallbackServerContext* context,
           const char* method, const grpc::ByteBuffer* raw_request,
           grpc::ByteBuffer* raw_response)
      : call_(frontend, "grpc", method, context->peer(), DeadlineOf(*context),
              AuthorizationOf(*context)),
        raw_response_(raw_response) {
    grpc::ByteBuffer copy(*raw_request);  // The reader consumes it.
    grpc::ProtoBufferReader reader(&copy);
    if (!request_.ParseFromZeroCopyStream(&reader)) {
      // Text fields are `string`: invalid UTF-8 in one fails the parse as a
      // whole, so the same bytes are parsed again to name the field.
      grpc::ByteBuffer again(*raw_request);
      grpc::ProtoBufferReader again_reader(&again);
      parsed_ =
          FindInvalidText(static_cast<const Request*>(nullptr), &again_reader);
      if (parsed_.ok()) {
        parsed_ = absl::InvalidArgumentError(absl::StrCat(
            "request: not a valid ", Request::descriptor()->full_name(),
            " (malformed or truncated protobuf message of ",
            raw_request->Length(), " bytes)"));
      }
    }
  }

  FrontendCall* call() { return &call_; }
  // OK, or INVALID_ARGUMENT when the request did not parse.
  const absl::Status& parsed() const { return parsed_; }
  const Request* request() const { return &request_; }
  Response* response() { return &response_; }

  CallDone Done() {
    return [this](const absl::Status& status) {
      if (status.ok()) {
        const std::string bytes = response_.SerializeAsString();
        grpc::Slice slice(bytes);
        *raw_response_ = grpc::ByteBuffer(&slice, 1);
      }
      answered_.store(true);
      Finish(ToGrpcStatus(status));
    };
  }

  // gRPC also reports a cancel when the status could not be sent after
  // Finish, e.g. the client closed its channel as soon as the answer
  // arrived: once answered, the caller is counted as having our status.
  void OnCancel() override {
    if (!answered_.load()) call_.CallerGone();
  }
  void OnDone() override { delete this; }

 private:
  FrontendCall call_;
  grpc::ByteBuffer* const raw_response_;
  Request request_;
  Response response_;
  absl::Status parsed_;
  std::atomic<bool> answered_{false};
};

// Starts `method` of the frontend for one call, or answers a request that
// did not parse.
template <typename Request, typename Response, typename Run>
grpc::ServerUnaryReactor* Start(Frontend* frontend,
                                grpc::CallbackServerContext* context,
                                const char* method,
                                const grpc::ByteBuffer* request,
                                grpc::ByteBuffer* response, Run run) {
  auto* call = new GrpcCall<Request, Response>(frontend, context, method,
                                               request, response);
  if (!call->parsed().ok()) {
    call->call()->SetOutcome(call->parsed(), 0, 0);
    call->Done()(call->parsed());
  } else {
    run(call);
  }
  return call;
}

}  // namespace

RetrieverService::RetrieverService(Frontend* frontend) : frontend_(frontend) {}

grpc::ServerUnaryReactor* RetrieverService::Retrieve(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  using Call =
      GrpcCall<attnr::v1::RetrieveRequest, attnr::v1::RetrieveResponse>;
  return Start<attnr::v1::RetrieveRequest, attnr::v1::RetrieveResponse>(
      frontend_, context, "Retrieve", request, response, [this](Call* call) {
        frontend_->Retrieve(call->call(), call->request(), call->response(),
                            call->Done());
      });
}

grpc::ServerUnaryReactor* RetrieverService::Score(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  using Call = GrpcCall<attnr::v1::ScoreRequest, attnr::v1::ScoreResponse>;
  return Start<attnr::v1::ScoreRequest, attnr::v1::ScoreResponse>(
      frontend_, context, "Score", request, response, [this](Call* call) {
        frontend_->Score(call->call(), call->request(), call->response(),
                         call->Done());
      });
}

grpc::ServerUnaryReactor* RetrieverService::Prepare(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  using Call = GrpcCall<attnr::v1::PrepareRequest, attnr::v1::PrepareResponse>;
  return Start<attnr::v1::PrepareRequest, attnr::v1::PrepareResponse>(
      frontend_, context, "Prepare", request, response, [this](Call* call) {
        frontend_->Prepare(call->call(), call->request(), call->response(),
                           call->Done());
      });
}

grpc::ServerUnaryReactor* RetrieverService::GetModelInfo(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  using Call = GrpcCall<attnr::v1::GetModelInfoRequest, attnr::v1::ModelInfo>;
  return Start<attnr::v1::GetModelInfoRequest, attnr::v1::ModelInfo>(
      frontend_, context, "GetModelInfo", request, response,
      [this](Call* call) {
        call->Done()(frontend_->GetModelInfo(call->call(), call->response()));
      });
}

}  // namespace attnr::server

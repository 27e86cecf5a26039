#include "server/retriever_service.h"

#include <chrono>

#include "absl/time/time.h"
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
// (whose destruction in OnDone writes the access log line).
class GrpcCall final : public grpc::ServerUnaryReactor {
 public:
  GrpcCall(Frontend* frontend, grpc::CallbackServerContext* context,
           const char* method)
      : call_(frontend, "grpc", method, context->peer(), DeadlineOf(*context),
              AuthorizationOf(*context)) {}

  FrontendCall* call() { return &call_; }
  CallDone Done() {
    return [this](const absl::Status& status) { Finish(ToGrpcStatus(status)); };
  }

  void OnCancel() override { call_.CallerGone(); }
  void OnDone() override { delete this; }

 private:
  FrontendCall call_;
};

}  // namespace

RetrieverService::RetrieverService(Frontend* frontend) : frontend_(frontend) {}

grpc::ServerUnaryReactor* RetrieverService::Retrieve(
    grpc::CallbackServerContext* context,
    const attnr::v1::RetrieveRequest* request,
    attnr::v1::RetrieveResponse* response) {
  auto* call = new GrpcCall(frontend_, context, "Retrieve");
  frontend_->Retrieve(call->call(), request, response, call->Done());
  return call;
}

grpc::ServerUnaryReactor* RetrieverService::Score(
    grpc::CallbackServerContext* context,
    const attnr::v1::ScoreRequest* request,
    attnr::v1::ScoreResponse* response) {
  auto* call = new GrpcCall(frontend_, context, "Score");
  frontend_->Score(call->call(), request, response, call->Done());
  return call;
}

grpc::ServerUnaryReactor* RetrieverService::Prepare(
    grpc::CallbackServerContext* context,
    const attnr::v1::PrepareRequest* request,
    attnr::v1::PrepareResponse* response) {
  auto* call = new GrpcCall(frontend_, context, "Prepare");
  frontend_->Prepare(call->call(), request, response, call->Done());
  return call;
}

grpc::ServerUnaryReactor* RetrieverService::GetModelInfo(
    grpc::CallbackServerContext* context, const attnr::v1::GetModelInfoRequest*,
    attnr::v1::ModelInfo* response) {
  auto* call = new GrpcCall(frontend_, context, "GetModelInfo");
  call->Done()(frontend_->GetModelInfo(call->call(), response));
  return call;
}

}  // namespace attnr::server

#include "server/retriever_service.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api_mapping.h"
#include "server/status_util.h"

namespace attnr::server {
namespace {

absl::Time DeadlineOf(const grpc::ServerContext& context) {
  const auto deadline = context.deadline();
  // gRPC reports "no deadline" as the clock's maximum.
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

void LogAccess(const char* method, const grpc::ServerContext& context,
               const absl::Status& status, int documents, uint64_t tokens,
               absl::Time start) {
  spdlog::info(
      "access method={} status={} documents={} tokens={} latency_ms={:.2f} "
      "peer={}{}{}",
      method, absl::StatusCodeToString(status.code()), documents, tokens,
      absl::ToDoubleMilliseconds(absl::Now() - start), context.peer(),
      status.ok() ? "" : " error=",
      status.ok() ? std::string() : std::string(status.message()));
}

}  // namespace

RetrieverService::RetrieverService(const attnr::v1::ServerConfig& config)
    : config_(config) {}

void RetrieverService::SetRetriever(const attnr::Retriever* retriever) {
  retriever_.store(retriever, std::memory_order_release);
}

absl::Status RetrieverService::Admit(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto has_slot = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return running_ < config_.max_concurrent_requests();
  };
  if (!mu_.AwaitWithDeadline(absl::Condition(&has_slot), deadline)) {
    return absl::DeadlineExceededError(
        "deadline exceeded while waiting for a free worker "
        "(max_concurrent_requests busy)");
  }
  ++running_;
  return absl::OkStatus();
}

void RetrieverService::Release() {
  absl::MutexLock lock(&mu_);
  --running_;
}

absl::Status RetrieverService::RunModelCall(
    absl::Time start, absl::Time deadline,
    const std::function<absl::Status()>& prepare,
    const std::function<absl::Status(const attnr::Retriever&)>& run,
    attnr::v1::Usage* usage) {
  const attnr::Retriever* retriever =
      retriever_.load(std::memory_order_acquire);
  if (retriever == nullptr) {
    return absl::UnavailableError("the model is still loading");
  }
  if (absl::Status s = prepare(); !s.ok()) return s;
  const double validate_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (absl::Status s = Admit(deadline); !s.ok()) return s;
  absl::Status status = run(*retriever);
  Release();
  if (!status.ok()) return status;
  attnr::v1::StageTimings* t = usage->mutable_timings();
  t->set_validate_ms(validate_ms);
  t->set_total_ms(absl::ToDoubleMilliseconds(absl::Now() - start));
  return absl::OkStatus();
}

grpc::Status RetrieverService::Retrieve(
    grpc::ServerContext* context, const attnr::v1::RetrieveRequest* request,
    attnr::v1::RetrieveResponse* response) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = DeadlineOf(*context);
  absl::StatusOr<RetrieveCall> call;
  const absl::Status status = RunModelCall(
      start, deadline,
      [&] {
        call = ToRetrieveCall(*request, config_, deadline);
        return call.status();
      },
      [&](const attnr::Retriever& retriever) {
        auto result =
            retriever.Retrieve(request->query(), call->documents, call->params);
        if (!result.ok()) return result.status();
        FillRetrieveResponse(*request, *result, retriever.description(),
                             response);
        return absl::OkStatus();
      },
      response->mutable_usage());
  LogAccess("Retrieve", *context, status, request->documents_size(),
            response->usage().document_tokens(), start);
  return ToGrpcStatus(status);
}

grpc::Status RetrieverService::Score(grpc::ServerContext* context,
                                     const attnr::v1::ScoreRequest* request,
                                     attnr::v1::ScoreResponse* response) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = DeadlineOf(*context);
  absl::StatusOr<ScoreCall> call;
  const absl::Status status = RunModelCall(
      start, deadline,
      [&] {
        call = ToScoreCall(*request, config_, deadline);
        return call.status();
      },
      [&](const attnr::Retriever& retriever) {
        auto result = retriever.Score(
            request->query(), call->inputs,
            call->has_context ? &call->context : nullptr, call->params);
        if (!result.ok()) return result.status();
        FillScoreResponse(*request, *result, retriever.description(), response);
        return absl::OkStatus();
      },
      response->mutable_usage());
  LogAccess("Score", *context, status, request->has_context() ? 1 : 0,
            response->usage().document_tokens(), start);
  return ToGrpcStatus(status);
}

grpc::Status RetrieverService::GetModelInfo(
    grpc::ServerContext* context, const attnr::v1::GetModelInfoRequest*,
    attnr::v1::ModelInfo* response) {
  const absl::Time start = absl::Now();
  const attnr::Retriever* retriever =
      retriever_.load(std::memory_order_acquire);
  absl::Status status;
  if (retriever == nullptr) {
    status = absl::UnavailableError("the model is still loading");
  } else {
    FillModelInfo(retriever->description(), config_, response);
  }
  LogAccess("GetModelInfo", *context, status, 0, 0, start);
  return ToGrpcStatus(status);
}

}  // namespace attnr::server

#include "server/retriever_service.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "model/stop_signal.h"
#include "server/api_mapping.h"
#include "server/status_util.h"

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

}  // namespace

// One call from arrival to OnDone: its stop signal (the client's deadline
// and cancellation, or the server's drain), its status, and the access log
// line written once gRPC is done with it. Deletes itself in OnDone.
class ServiceCall final : public grpc::ServerUnaryReactor {
 public:
  ServiceCall(RetrieverService* service, grpc::CallbackServerContext* context,
              const char* method)
      : service_(service),
        method_(method),
        peer_(context->peer()),
        start_(absl::Now()),
        deadline_(DeadlineOf(*context)) {
    service_->Register(this);
  }

  StopSignal stop() const { return StopSignal(deadline_, &stopped_); }
  absl::Time start() const { return start_; }

  // Sends the status (once).
  void Complete(const absl::Status& status, int documents = 0,
                uint64_t tokens = 0) {
    status_ = status;
    documents_ = documents;
    tokens_ = tokens;
    Finish(ToGrpcStatus(status));
  }

  // The server stops this call's work (drain past its deadline).
  void Stop() { stopped_.store(true); }

  void OnCancel() override {
    client_gone_.store(true);
    stopped_.store(true);
  }

  void OnDone() override {
    // The status the client got: a client that went away (or whose
    // deadline passed first) never saw ours.
    absl::Status got = status_;
    if (client_gone_.load()) {
      got = absl::Now() >= deadline_
                ? absl::DeadlineExceededError("client deadline passed")
                : absl::CancelledError("client cancelled the call");
    }
    spdlog::info(
        "access method={} status={} documents={} tokens={} latency_ms={:.2f} "
        "peer={}{}{}",
        method_, absl::StatusCodeToString(got.code()), documents_, tokens_,
        absl::ToDoubleMilliseconds(absl::Now() - start_), peer_,
        got.ok() ? "" : " error=",
        got.ok() ? std::string() : std::string(got.message()));
    service_->Unregister(this);
    delete this;
  }

 private:
  RetrieverService* const service_;
  const char* const method_;
  const std::string peer_;
  const absl::Time start_;
  const absl::Time deadline_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> client_gone_{false};
  // Written before Finish, read in OnDone (which gRPC runs after Finish).
  absl::Status status_;
  int documents_ = 0;
  uint64_t tokens_ = 0;
};

RetrieverService::RetrieverService(const attnr::v1::ServerConfig& config)
    : config_(config),
      pool_(config.max_concurrent_requests(), config.max_queued_requests()) {}

RetrieverService::~RetrieverService() = default;

void RetrieverService::SetRetriever(const attnr::Retriever* retriever) {
  retriever_.store(retriever, std::memory_order_release);
}

void RetrieverService::Register(ServiceCall* call) {
  absl::MutexLock lock(&mu_);
  calls_.insert(call);
}

void RetrieverService::Unregister(ServiceCall* call) {
  absl::MutexLock lock(&mu_);
  calls_.erase(call);
}

void RetrieverService::StartDraining() { draining_.store(true); }

bool RetrieverService::AwaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.empty(); };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

void RetrieverService::CancelAll() {
  absl::MutexLock lock(&mu_);
  for (ServiceCall* call : calls_) call->Stop();
}

void RetrieverService::RunModelCall(
    ServiceCall* call, std::function<absl::Status()> prepare,
    std::function<absl::Status(const attnr::Retriever&)> run, int documents,
    attnr::v1::Usage* usage) {
  if (draining_.load()) {
    call->Complete(absl::UnavailableError(
                       "the server is shutting down; retry on another replica"),
                   documents);
    return;
  }
  const attnr::Retriever* retriever =
      retriever_.load(std::memory_order_acquire);
  if (retriever == nullptr) {
    call->Complete(absl::UnavailableError("the model is still loading"),
                   documents);
    return;
  }
  if (absl::Status s = prepare(); !s.ok()) {
    call->Complete(s, documents);
    return;
  }
  const double validate_ms =
      absl::ToDoubleMilliseconds(absl::Now() - call->start());
  absl::Status queued = pool_.Submit([call, retriever, validate_ms, documents,
                                      run = std::move(run), usage] {
    // A call cancelled or expired while it waited is not started.
    absl::Status status = call->stop().Check("queue");
    if (status.ok()) status = run(*retriever);
    if (status.ok()) {
      attnr::v1::StageTimings* t = usage->mutable_timings();
      t->set_validate_ms(validate_ms);
      t->set_total_ms(absl::ToDoubleMilliseconds(absl::Now() - call->start()));
    }
    call->Complete(status, documents, usage->document_tokens());
  });
  if (!queued.ok()) call->Complete(queued, documents);
}

grpc::ServerUnaryReactor* RetrieverService::Retrieve(
    grpc::CallbackServerContext* context,
    const attnr::v1::RetrieveRequest* request,
    attnr::v1::RetrieveResponse* response) {
  auto* call = new ServiceCall(this, context, "Retrieve");
  auto translated = std::make_shared<absl::StatusOr<RetrieveCall>>();
  RunModelCall(
      call,
      [this, call, request, translated] {
        *translated = ToRetrieveCall(*request, config_, call->stop());
        return translated->status();
      },
      [request, response, translated](const attnr::Retriever& retriever) {
        auto result = retriever.Retrieve(
            request->query(), (*translated)->documents, (*translated)->params);
        if (!result.ok()) return result.status();
        FillRetrieveResponse(*request, *result, retriever.description(),
                             response);
        return absl::OkStatus();
      },
      request->documents_size(), response->mutable_usage());
  return call;
}

grpc::ServerUnaryReactor* RetrieverService::Score(
    grpc::CallbackServerContext* context,
    const attnr::v1::ScoreRequest* request,
    attnr::v1::ScoreResponse* response) {
  auto* call = new ServiceCall(this, context, "Score");
  auto translated = std::make_shared<absl::StatusOr<ScoreCall>>();
  RunModelCall(
      call,
      [this, call, request, translated] {
        *translated = ToScoreCall(*request, config_, call->stop());
        return translated->status();
      },
      [request, response, translated](const attnr::Retriever& retriever) {
        const ScoreCall& c = **translated;
        auto result =
            retriever.Score(request->query(), c.inputs,
                            c.has_context ? &c.context : nullptr, c.params);
        if (!result.ok()) return result.status();
        FillScoreResponse(*request, *result, retriever.description(), response);
        return absl::OkStatus();
      },
      request->has_context() ? 1 : 0, response->mutable_usage());
  return call;
}

grpc::ServerUnaryReactor* RetrieverService::Prepare(
    grpc::CallbackServerContext* context,
    const attnr::v1::PrepareRequest* request,
    attnr::v1::PrepareResponse* response) {
  auto* call = new ServiceCall(this, context, "Prepare");
  auto translated = std::make_shared<absl::StatusOr<RetrieveCall>>();
  RunModelCall(
      call,
      [this, call, request, translated] {
        *translated = ToPrepareCall(*request, config_, call->stop());
        return translated->status();
      },
      [response, translated](const attnr::Retriever& retriever) {
        auto result =
            retriever.Prepare((*translated)->documents, (*translated)->params);
        if (!result.ok()) return result.status();
        FillPrepareResponse(*result, retriever.description(), response);
        return absl::OkStatus();
      },
      request->documents_size(), response->mutable_usage());
  return call;
}

grpc::ServerUnaryReactor* RetrieverService::GetModelInfo(
    grpc::CallbackServerContext* context, const attnr::v1::GetModelInfoRequest*,
    attnr::v1::ModelInfo* response) {
  auto* call = new ServiceCall(this, context, "GetModelInfo");
  const attnr::Retriever* retriever =
      retriever_.load(std::memory_order_acquire);
  if (retriever == nullptr) {
    call->Complete(absl::UnavailableError("the model is still loading"));
  } else {
    FillModelInfo(retriever->description(), config_, response);
    call->Complete(absl::OkStatus());
  }
  return call;
}

}  // namespace attnr::server

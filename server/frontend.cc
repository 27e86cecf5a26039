#include "server/frontend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "model/runtime/status_macros.h"
#include "model/views/view_registry.h"
#include "server/api_mapping.h"
#include "server/request_echo.h"

namespace attnr::server {

FrontendCall::FrontendCall(Frontend* frontend, const char* transport,
                           const char* method, std::string peer,
                           absl::Time deadline, absl::string_view authorization)
    : frontend_(frontend),
      transport_(transport),
      method_(method),
      peer_(std::move(peer)),
      client_(peer_),
      start_(absl::Now()),
      deadline_(std::min(
          deadline,
          start_ +
              absl::Seconds(frontend->config().limits().max_call_seconds()))) {
  if (frontend_->auth_.has_value()) {
    // An address that failed too often is refused before its token is
    // compared (AuthThrottle).
    auth_ = frontend_->auth_throttle_->Admit(peer_);
    if (auth_.ok()) {
      absl::StatusOr<std::string> name = frontend_->auth_->Check(authorization);
      if (name.ok()) {
        client_ = *std::move(name);
      } else {
        auth_ = name.status();
        frontend_->auth_throttle_->Failed(peer_);
      }
    }
  }
  frontend_->Register(this);
}

FrontendCall::~FrontendCall() {
  // The status the caller got: one that went away (or whose deadline
  // passed first) never saw ours.
  absl::Status got = status_;
  if (caller_gone_.load()) {
    got = absl::Now() >= deadline_
              ? absl::DeadlineExceededError("client deadline passed")
              : absl::CancelledError("client cancelled the call");
  }
  spdlog::info(
      "access method={} status={} documents={} tokens={} latency_ms={:.2f} "
      "transport={} peer={}{}{}",
      method_, absl::StatusCodeToString(got.code()), documents_, tokens_,
      absl::ToDoubleMilliseconds(absl::Now() - start_), transport_, peer_,
      got.ok() ? "" : " error=",
      got.ok() ? std::string() : BoundedForLog(got.message()));
  frontend_->metrics().RecordCall(method_, transport_, got.code(),
                                  absl::ToDoubleSeconds(absl::Now() - start_),
                                  has_usage_ ? &usage_ : nullptr);
  frontend_->Unregister(this);
}

void FrontendCall::CallerGone() {
  caller_gone_.store(true);
  stopped_.store(true);
}

void FrontendCall::SetOutcome(const absl::Status& status, int documents,
                              uint64_t tokens) {
  status_ = status;
  documents_ = documents;
  tokens_ = tokens;
}

namespace {

WorkerPool::Options CheapPool(const attnr::v1::AdmissionConfig& config) {
  return {config.max_concurrent_requests(), config.max_queued_requests(), 0,
          "max_queued_requests", ""};
}

WorkerPool::Options NeuralPool(const attnr::v1::AdmissionConfig& config) {
  return {config.max_neural_requests(), config.max_queued_neural_requests(),
          config.max_neural_requests_per_client(), "max_queued_neural_requests",
          "max_neural_requests_per_client"};
}

// Whether a call with `views` (none: the defaults) runs a neural model.
bool UsesNeuralView(const std::vector<ViewKind>& views,
                    const attnr::Retriever& retriever) {
  for (ViewKind v :
       views.empty() ? retriever.description().default_views : views) {
    if (InfoOf(v).neural) return true;
  }
  return false;
}

}  // namespace

Frontend::Frontend(const attnr::v1::ServerConfig& config)
    : config_(config),
      pool_(CheapPool(config.admission())),
      neural_pool_(NeuralPool(config.admission())) {
  metrics_.SetGaugeSource([this] {
    size_t in_flight;
    {
      absl::MutexLock lock(&mu_);
      in_flight = calls_.size();
    }
    const attnr::Retriever* r = retriever();
    using Gauge = Metrics::Gauge;
    std::vector<Gauge> caches;
    if (r != nullptr) {
      for (const auto& [name, bytes] : r->CacheBytes()) {
        caches.push_back({"attnr_cache_bytes",
                          caches.empty() ? "Bytes each cache holds." : "",
                          absl::StrCat("cache=\"", name, "\""),
                          static_cast<double>(bytes)});
      }
    }
    std::vector<Gauge> gauges{
        {"attnr_calls_in_flight", "Calls queued, running or being answered.",
         "", static_cast<double>(in_flight)},
        {"attnr_queue_depth", "Calls waiting for a worker, by pool.",
         "pool=\"cheap\"", static_cast<double>(pool_.queued())},
        {"attnr_queue_depth", "", "pool=\"neural\"",
         static_cast<double>(neural_pool_.queued())},
        {"attnr_workers_busy", "Workers running a call, by pool.",
         "pool=\"cheap\"", static_cast<double>(pool_.running())},
        {"attnr_workers_busy", "", "pool=\"neural\"",
         static_cast<double>(neural_pool_.running())},
        {"attnr_model_turns_waiting",
         "Steps waiting for the model (ModelGate).", "",
         r == nullptr ? 0.0 : static_cast<double>(r->model_turns_waiting())},
        {"attnr_serving", "1 when the model is loaded and not draining.", "",
         serving() ? 1.0 : 0.0},
    };
    gauges.insert(gauges.end(), caches.begin(), caches.end());
    return gauges;
  });
}

Frontend::~Frontend() = default;

void Frontend::SetAuthTokens(AuthTokens tokens) {
  auth_ = std::move(tokens);
  auth_throttle_ = std::make_unique<AuthThrottle>(
      config_.transport().auth().failure_burst());
}

void Frontend::SetRetriever(const attnr::Retriever* retriever) {
  retriever_.store(retriever, std::memory_order_release);
}

bool Frontend::serving() const {
  return !draining_.load() &&
         retriever_.load(std::memory_order_acquire) != nullptr;
}

void Frontend::Register(FrontendCall* call) {
  absl::MutexLock lock(&mu_);
  calls_.insert(call);
}

void Frontend::Unregister(FrontendCall* call) {
  absl::MutexLock lock(&mu_);
  calls_.erase(call);
}

void Frontend::StartDraining() { draining_.store(true); }

bool Frontend::AwaitIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.empty(); };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

void Frontend::CancelAll() {
  absl::MutexLock lock(&mu_);
  for (FrontendCall* call : calls_) call->Stop();
}

namespace {

// The admission step of a model call: translates the request with
// `translate` into `*translated`, then says whether the call uses a neural
// view.
template <typename Call, typename Translate>
std::function<absl::StatusOr<bool>(const attnr::Retriever&)> TranslateInto(
    std::shared_ptr<absl::StatusOr<Call>> translated, Translate translate) {
  return [translated, translate](
             const attnr::Retriever& retriever) -> absl::StatusOr<bool> {
    *translated = translate();
    if (!translated->ok()) return translated->status();
    return UsesNeuralView((*translated)->params.views, retriever);
  };
}

}  // namespace

void Frontend::RunModelCall(
    FrontendCall* call,
    std::function<absl::StatusOr<bool>(const attnr::Retriever&)> prepare,
    std::function<absl::Status(const attnr::Retriever&)> run, int documents,
    attnr::v1::Usage* usage, CallDone done) {
  auto finish = [call, documents, done](const absl::Status& status,
                                        uint64_t tokens) {
    call->SetOutcome(status, documents, tokens);
    done(status);  // Last: the transport may destroy the call in it.
  };
  if (!call->auth_status().ok()) {
    finish(call->auth_status(), 0);
    return;
  }
  if (draining_.load()) {
    finish(absl::UnavailableError(
               "the server is shutting down; retry on another replica"),
           0);
    return;
  }
  const attnr::Retriever* retriever =
      retriever_.load(std::memory_order_acquire);
  if (retriever == nullptr) {
    finish(absl::UnavailableError("the model is still loading"), 0);
    return;
  }
  absl::StatusOr<bool> neural = prepare(*retriever);
  if (!neural.ok()) {
    finish(neural.status(), 0);
    return;
  }
  const absl::Time queued_at = absl::Now();
  const double validate_ms =
      absl::ToDoubleMilliseconds(queued_at - call->start());
  WorkerPool& pool = *neural ? neural_pool_ : pool_;
  // The work's status is reported after the pool has released the call
  // (WorkerPool::Submit's `then`).
  auto status = std::make_shared<absl::Status>();
  absl::Status queued = pool.Submit(
      [call, retriever, validate_ms, queued_at, run = std::move(run), usage,
       status] {
        const double queue_ms =
            absl::ToDoubleMilliseconds(absl::Now() - queued_at);
        // A call cancelled or expired while it waited is not started.
        *status = call->stop().Check("queue");
        if (status->ok()) *status = run(*retriever);
        if (status->ok()) {
          attnr::v1::StageTimings* t = usage->mutable_timings();
          t->set_validate_ms(validate_ms);
          t->set_queue_ms(queue_ms);
          t->set_total_ms(
              absl::ToDoubleMilliseconds(absl::Now() - call->start()));
          call->SetUsage(*usage);
        }
      },
      call->client(),
      [usage, status, finish] { finish(*status, usage->document_tokens()); });
  if (!queued.ok()) finish(queued, 0);
}

void Frontend::Retrieve(FrontendCall* call,
                        const attnr::v1::RetrieveRequest* request,
                        attnr::v1::RetrieveResponse* response, CallDone done) {
  auto translated = std::make_shared<absl::StatusOr<RetrieveCall>>();
  RunModelCall(
      call,
      TranslateInto(translated,
                    [this, call, request] {
                      return ToRetrieveCall(*request, config_, call->stop());
                    }),
      [request, response, translated](const attnr::Retriever& retriever) {
        ASSIGN_OR_RETURN(
            auto result,
            ToApi(retriever.Retrieve(request->query(), (*translated)->documents,
                                     (*translated)->params)));
        FillRetrieveResponse(*request, result, retriever.description(),
                             response);
        return absl::OkStatus();
      },
      request->documents_size(), response->mutable_usage(), std::move(done));
}

void Frontend::Score(FrontendCall* call, const attnr::v1::ScoreRequest* request,
                     attnr::v1::ScoreResponse* response, CallDone done) {
  auto translated = std::make_shared<absl::StatusOr<ScoreCall>>();
  RunModelCall(
      call,
      TranslateInto(translated,
                    [this, call, request] {
                      return ToScoreCall(*request, config_, call->stop());
                    }),
      [request, response, translated](const attnr::Retriever& retriever) {
        const ScoreCall& c = **translated;
        ASSIGN_OR_RETURN(auto result,
                         ToApi(retriever.Score(
                             request->query(), c.inputs,
                             c.has_context ? &c.context : nullptr, c.params)));
        FillScoreResponse(*request, result, retriever.description(), response);
        return absl::OkStatus();
      },
      request->has_context() ? 1 : 0, response->mutable_usage(),
      std::move(done));
}

void Frontend::Prepare(FrontendCall* call,
                       const attnr::v1::PrepareRequest* request,
                       attnr::v1::PrepareResponse* response, CallDone done) {
  auto translated = std::make_shared<absl::StatusOr<RetrieveCall>>();
  RunModelCall(
      call,
      TranslateInto(translated,
                    [this, call, request] {
                      return ToPrepareCall(*request, config_, call->stop());
                    }),
      [response, translated](const attnr::Retriever& retriever) {
        ASSIGN_OR_RETURN(auto result,
                         ToApi(retriever.Prepare((*translated)->documents,
                                                 (*translated)->params)));
        FillPrepareResponse(result, retriever.description(), response);
        return absl::OkStatus();
      },
      request->documents_size(), response->mutable_usage(), std::move(done));
}

absl::Status Frontend::GetModelInfo(FrontendCall* call,
                                    attnr::v1::ModelInfo* info) {
  const attnr::Retriever* retriever =
      retriever_.load(std::memory_order_acquire);
  absl::Status status = call->auth_status();
  if (status.ok() && retriever == nullptr) {
    status = absl::UnavailableError("the model is still loading");
  }
  if (status.ok()) FillModelInfo(retriever->description(), config_, info);
  call->SetOutcome(status, 0, 0);
  return status;
}

}  // namespace attnr::server

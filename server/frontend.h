#ifndef ATTNR_SERVER_FRONTEND_H_
#define ATTNR_SERVER_FRONTEND_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model/retriever.h"
#include "model/stop_signal.h"
#include "proto/attnr/v1/config.pb.h"
#include "proto/attnr/v1/retriever.pb.h"
#include "server/auth_throttle.h"
#include "server/auth_tokens.h"
#include "server/metrics.h"
#include "server/worker_pool.h"

namespace attnr::server {

class Frontend;

// One call through any transport, from arrival until the transport is done
// with it: its stop signal (the caller's deadline and going away, or the
// server's drain), what it answered, and the access log line, written when
// the call is destroyed with the status the caller actually got. The
// transport owns it and destroys it after its answer was sent.
class FrontendCall {
 public:
  // `transport` ("grpc", "http") and `method` are static strings;
  // `authorization` is the caller's credential (checked when the server
  // has auth tokens). The call's deadline is the caller's `deadline` or
  // max_call_seconds from now, whichever comes first.
  FrontendCall(Frontend* frontend, const char* transport, const char* method,
               std::string peer, absl::Time deadline,
               absl::string_view authorization = "");
  ~FrontendCall();

  FrontendCall(const FrontendCall&) = delete;
  FrontendCall& operator=(const FrontendCall&) = delete;

  StopSignal stop() const {
    return StopSignal(deadline_, &stopped_, &server_stopped_);
  }
  // Who admission is fair between: the token's name with auth, else the
  // peer (its connection).
  const std::string& client() const { return client_; }
  // OK, or UNAUTHENTICATED: the call is answered with it.
  const absl::Status& auth_status() const { return auth_; }
  absl::Time start() const { return start_; }
  absl::Time deadline() const { return deadline_; }

  // The caller went away (or its deadline passed first): nobody reads the
  // answer, so the work stops at its next check.
  void CallerGone();
  // The server stops this call's work (drain past its deadline): it ends
  // UNAVAILABLE, which a client retries elsewhere.
  void Stop() { server_stopped_.store(true); }

  // What the call answered; set by the frontend just before `done` runs.
  void SetOutcome(const absl::Status& status, int documents, uint64_t tokens);
  // Its usage (tokens, stage timings, cache), for the metrics.
  void SetUsage(const attnr::v1::Usage& usage) {
    usage_ = usage;
    has_usage_ = true;
  }
  // Overrides the logged status: the transport failed to send the answer.
  void SetStatus(const absl::Status& status) { status_ = status; }

 private:
  Frontend* const frontend_;
  const char* const transport_;
  const char* const method_;
  const std::string peer_;
  std::string client_;
  absl::Status auth_;
  const absl::Time start_;
  const absl::Time deadline_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> server_stopped_{false};
  std::atomic<bool> caller_gone_{false};
  // Written before `done` runs, read in the destructor (after it).
  absl::Status status_;
  int documents_ = 0;
  uint64_t tokens_ = 0;
  attnr::v1::Usage usage_;
  bool has_usage_ = false;
};

// Called once with a call's status; the response is filled when it is OK.
// Runs on a worker thread or on the caller's.
using CallDone = std::function<void(const absl::Status&)>;

// The request path every transport shares (the TF Serving ServerCore / TEI
// Infer pattern): the retriever, request defaults and checks (one source,
// api_mapping), admission to the bounded worker pool, stage timings and
// draining. The gRPC service and the HTTP gateway are thin adapters that
// turn their requests into the attnr.v1 messages and the status this
// returns into theirs (status_mapping).
class Frontend {
 public:
  explicit Frontend(const attnr::v1::ServerConfig& config);
  ~Frontend();

  // Makes the frontend answer with `retriever` (not owned; must outlive the
  // frontend). Until then every call fails with UNAVAILABLE.
  void SetRetriever(const attnr::Retriever* retriever);

  const attnr::v1::ServerConfig& config() const { return config_; }
  // Requires a bearer token on every call from now on.
  void SetAuthTokens(AuthTokens tokens);
  Metrics& metrics() { return metrics_; }

  // `request` and `response` must stay alive until `done` has run.
  void Retrieve(FrontendCall* call, const attnr::v1::RetrieveRequest* request,
                attnr::v1::RetrieveResponse* response, CallDone done);
  void Score(FrontendCall* call, const attnr::v1::ScoreRequest* request,
             attnr::v1::ScoreResponse* response, CallDone done);
  void Prepare(FrontendCall* call, const attnr::v1::PrepareRequest* request,
               attnr::v1::PrepareResponse* response, CallDone done);
  // Cheap: answered on the caller's thread.
  absl::Status GetModelInfo(FrontendCall* call, attnr::v1::ModelInfo* info);

  // True when a model is loaded and the server is not draining.
  bool serving() const;

  // Drain: from now on new calls are refused with UNAVAILABLE.
  void StartDraining();
  // Waits until no call is in flight (queued, running or being answered) or
  // `deadline` passes; true when none is left.
  bool AwaitIdle(absl::Time deadline);
  // Stops every call in flight (their work sees UNAVAILABLE, the server
  // is shutting down, at its next check).
  void CancelAll();

 private:
  friend class FrontendCall;

  // Checks and translates the call with `prepare` (which says whether the
  // call uses a neural view of the retriever), runs `run` on the cheap or the
  // neural pool (or refuses it at once), then reports its status with the
  // timings.
  void RunModelCall(
      FrontendCall* call,
      std::function<absl::StatusOr<bool>(const attnr::Retriever&)> prepare,
      std::function<absl::Status(const attnr::Retriever&)> run, int documents,
      attnr::v1::Usage* usage, CallDone done);
  const attnr::Retriever* retriever() const {
    return retriever_.load(std::memory_order_acquire);
  }
  void Register(FrontendCall* call);
  void Unregister(FrontendCall* call);

  const attnr::v1::ServerConfig config_;
  std::atomic<const attnr::Retriever*> retriever_{nullptr};
  std::atomic<bool> draining_{false};
  absl::Mutex mu_;
  absl::flat_hash_set<FrontendCall*> calls_ ABSL_GUARDED_BY(mu_);
  Metrics metrics_;
  std::optional<AuthTokens> auth_;
  std::unique_ptr<AuthThrottle> auth_throttle_;  // With auth_.
  // Last: destroyed first, so queued work still finds the frontend.
  // Calls that use no neural view, and calls that do.
  WorkerPool pool_;
  WorkerPool neural_pool_;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_FRONTEND_H_

#ifndef ATTNR_SERVER_RETRIEVER_SERVICE_H_
#define ATTNR_SERVER_RETRIEVER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "model/retriever.h"
#include "proto/attnr/v1/config.pb.h"
#include "proto/attnr/v1/retriever.grpc.pb.h"
#include "server/worker_pool.h"

namespace attnr::server {

class ServiceCall;

// The attnr.v1.Retriever service (gRPC callback API): validates and
// translates requests, runs the retrieval library on a bounded worker pool,
// maps its status to gRPC once, and writes one access log line per call
// with the status the client actually got. A call's work sees the client's
// cancellation and deadline (StopSignal), so work nobody waits for stops.
// Stateless apart from the shared read-only model.
class RetrieverService final : public attnr::v1::Retriever::CallbackService {
 public:
  explicit RetrieverService(const attnr::v1::ServerConfig& config);
  ~RetrieverService() override;

  // Makes the service answer with `retriever` (not owned; must outlive the
  // service). Until then every call fails with UNAVAILABLE.
  void SetRetriever(const attnr::Retriever* retriever);

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

  // Drain: from now on new calls are refused with UNAVAILABLE.
  void StartDraining();
  // Waits until no call is in flight (queued, running or finishing) or
  // `deadline` passes; true when none is left.
  bool AwaitIdle(absl::Time deadline);
  // Stops every call in flight (their work sees CANCELLED at its next
  // check).
  void CancelAll();

 private:
  friend class ServiceCall;

  // Runs `work` for `call` on the pool (or refuses it at once), then
  // finishes the call with its status and the stage timings.
  void RunModelCall(ServiceCall* call, std::function<absl::Status()> prepare,
                    std::function<absl::Status(const attnr::Retriever&)> run,
                    int documents, attnr::v1::Usage* usage);
  void Register(ServiceCall* call);
  void Unregister(ServiceCall* call);

  const attnr::v1::ServerConfig config_;
  std::atomic<const attnr::Retriever*> retriever_{nullptr};
  std::atomic<bool> draining_{false};
  absl::Mutex mu_;
  absl::flat_hash_set<ServiceCall*> calls_ ABSL_GUARDED_BY(mu_);
  // Last: destroyed first, so queued work still finds the service.
  WorkerPool pool_;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_RETRIEVER_SERVICE_H_

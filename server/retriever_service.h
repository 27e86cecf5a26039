#ifndef ATTNR_SERVER_RETRIEVER_SERVICE_H_
#define ATTNR_SERVER_RETRIEVER_SERVICE_H_

#include <atomic>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "model/retriever.h"
#include "proto/attnr/v1/config.pb.h"
#include "proto/attnr/v1/retriever.grpc.pb.h"

namespace attnr::server {

// The attnr.v1.Retriever service: validates and translates requests, runs
// the retrieval library, maps its status to gRPC once, and writes one access
// log line per call. Stateless apart from the shared read-only model.
class RetrieverService final : public attnr::v1::Retriever::Service {
 public:
  explicit RetrieverService(const attnr::v1::ServerConfig& config);

  // Makes the service answer with `retriever` (not owned; must outlive the
  // service). Until then every call fails with UNAVAILABLE.
  void SetRetriever(const attnr::Retriever* retriever);

  grpc::Status Retrieve(grpc::ServerContext* context,
                        const attnr::v1::RetrieveRequest* request,
                        attnr::v1::RetrieveResponse* response) override;
  grpc::Status Score(grpc::ServerContext* context,
                     const attnr::v1::ScoreRequest* request,
                     attnr::v1::ScoreResponse* response) override;
  grpc::Status GetModelInfo(grpc::ServerContext* context,
                            const attnr::v1::GetModelInfoRequest* request,
                            attnr::v1::ModelInfo* response) override;

 private:
  // The skeleton of a model call: UNAVAILABLE until the model is loaded,
  // `prepare` (request checks) outside the admission limit, `run` inside it,
  // then the validate/total timings into `usage`.
  absl::Status RunModelCall(
      absl::Time start, absl::Time deadline,
      const std::function<absl::Status()>& prepare,
      const std::function<absl::Status(const attnr::Retriever&)>& run,
      attnr::v1::Usage* usage);

  // Admits at most max_concurrent_requests model calls at once; the others
  // wait, until their deadline at most (then DEADLINE_EXCEEDED), so the two
  // cores are not split between too many long documents.
  absl::Status Admit(absl::Time deadline);
  void Release();

  const attnr::v1::ServerConfig config_;
  std::atomic<const attnr::Retriever*> retriever_{nullptr};
  absl::Mutex mu_;
  uint32_t running_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_RETRIEVER_SERVICE_H_

#ifndef ATTNR_SERVER_API_MAPPING_H_
#define ATTNR_SERVER_API_MAPPING_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/retrieval_types.h"
#include "proto/attnr/v1/config.pb.h"
#include "proto/attnr/v1/retriever.pb.h"

namespace attnr::server {

// Translation between the public API (attnr.v1 protos) and the retrieval
// library's value types, with the request checks that need only the
// request and the server config. Checks that need the text (UTF-8, token
// counts) happen in the library, which names the field the same way.

struct RetrieveCall {
  std::vector<DocumentRef> documents;  // Views into the request.
  RetrieveParams params;
};

absl::StatusOr<RetrieveCall> ToRetrieveCall(
    const attnr::v1::RetrieveRequest& request,
    const attnr::v1::ServerConfig& config, const StopSignal& stop);

// Prepare takes the documents and options of a Retrieve, without a query.
absl::StatusOr<RetrieveCall> ToPrepareCall(
    const attnr::v1::PrepareRequest& request,
    const attnr::v1::ServerConfig& config, const StopSignal& stop);

struct ScoreCall {
  std::vector<ScoreInput> inputs;
  bool has_context = false;
  DocumentRef context;
  ScoreParams params;
};

absl::StatusOr<ScoreCall> ToScoreCall(const attnr::v1::ScoreRequest& request,
                                      const attnr::v1::ServerConfig& config,
                                      const StopSignal& stop);

void FillRetrieveResponse(const attnr::v1::RetrieveRequest& request,
                          const RetrieveResult& result,
                          const ModelDescription& model,
                          attnr::v1::RetrieveResponse* response);

void FillScoreResponse(const attnr::v1::ScoreRequest& request,
                       const ScoreResult& result, const ModelDescription& model,
                       attnr::v1::ScoreResponse* response);

void FillPrepareResponse(const PrepareResult& result,
                         const ModelDescription& model,
                         attnr::v1::PrepareResponse* response);

void FillModelInfo(const ModelDescription& model,
                   const attnr::v1::ServerConfig& config,
                   attnr::v1::ModelInfo* info);

attnr::v1::ScoringView ToProtoView(ViewKind view);

// A model error as the API says it: the input it is about
// (model/request_field.h) named by its API field path before the message
// ("documents[2]: invalid UTF-8 ..."); code and payloads kept. A status
// about no input is returned as it is.
absl::Status ToApiStatus(const absl::Status& status);
template <typename T>
absl::StatusOr<T> ToApi(absl::StatusOr<T> result) {
  if (result.ok()) return result;
  return ToApiStatus(result.status());
}

// Proto views (a request's or the config's) to the library's; an
// unspecified or unknown value is INVALID_ARGUMENT naming `field`[i].
absl::StatusOr<std::vector<ViewKind>> FromProtoViews(
    const google::protobuf::RepeatedField<int>& views, absl::string_view field);

// A request's view_weights (view CLI names to weights) to the library's, in
// view order; an unknown name or a weight that is negative or not finite
// is INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::vector<std::pair<ViewKind, double>>> FromProtoViewWeights(
    const google::protobuf::Map<std::string, double>& weights,
    absl::string_view field);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_API_MAPPING_H_

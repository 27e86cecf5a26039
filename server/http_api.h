#ifndef ATTNR_SERVER_HTTP_API_H_
#define ATTNR_SERVER_HTTP_API_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "proto/attnr/v1/retriever.pb.h"

namespace attnr::server {

// The HTTP/JSON API's bodies, translated to and from the attnr.v1 messages
// the frontend runs (the OpenAPI document, openapi_document.cc, describes
// them). Only JSON shape is checked here (types, unknown fields); every
// limit and value check is the frontend's, so a bad request reads the same
// through gRPC and HTTP. Documents and queries are plain JSON strings (not
// base64, as the protobuf JSON mapping would make `bytes` fields).

// The body as JSON: INVALID_ARGUMENT naming the byte offset of a syntax
// error (or of bad UTF-8, which JSON does not allow).
absl::StatusOr<nlohmann::json> ParseJsonBody(absl::string_view body);

// POST /v1/retrieve: {query, documents: [string | {id?, text}], options?}
// where options mirror RetrieveOptions (views by name: "lexical",
// "LEXICAL" or "SCORING_VIEW_LEXICAL").
absl::StatusOr<attnr::v1::RetrieveRequest> RetrieveRequestFromJson(
    const nlohmann::json& body);

// POST /v1/prepare: {documents, options?} as /v1/retrieve.
absl::StatusOr<attnr::v1::PrepareRequest> PrepareRequestFromJson(
    const nlohmann::json& body);

// POST /v1/score: {query, passages: [{text} | {char_range: {start, end}} |
// {byte_range: {start, end}}], context?: {id?, text}, options?: {views,
// explain}}.
absl::StatusOr<attnr::v1::ScoreRequest> ScoreRequestFromJson(
    const nlohmann::json& body);

// POST /v1/rerank, the shape Cohere, Jina and TEI-compatible clients send:
// {model?, query, documents: [string | {text}], top_n?, return_documents?}.
struct RerankCall {
  attnr::v1::ScoreRequest request;  // One text passage per document.
  std::optional<uint32_t> top_n;
  bool return_documents = false;
};
absl::StatusOr<RerankCall> RerankCallFromJson(const nlohmann::json& body);

// The rerank answer: {id, model, results: [{index, relevance_score,
// document?: {text}}] best first (at most top_n), usage, meta}.
nlohmann::json RerankResponseJson(const RerankCall& call,
                                  const attnr::v1::ScoreResponse& response,
                                  absl::string_view id);

// A rerank error names the caller's field ("documents[3]"), not the Score
// request's it became ("passages[3]").
absl::Status RerankStatus(const absl::Status& status);

// A response message as JSON (protobuf's JSON mapping, proto field names,
// zeros printed: a range starting at 0 keeps its start).
std::string MessageToJson(const google::protobuf::Message& message);

// {"error": {"code": "INVALID_ARGUMENT", "status": 400, "message": ...}}.
std::string ErrorJson(const absl::Status& status, int http_status);

}  // namespace attnr::server

#endif  // ATTNR_SERVER_HTTP_API_H_

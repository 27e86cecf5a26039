#ifndef ATTNR_SERVER_HTTP_GATEWAY_H_
#define ATTNR_SERVER_HTTP_GATEWAY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/frontend.h"
#include "server/http_server.h"

namespace attnr::server {

// The HTTP/JSON gateway (HttpServer, libmicrohttpd): a thin adapter over the
// Frontend, like the gRPC service. Routes (openapi_document.cc describes them):
//   POST /v1/rerank     Cohere / Jina / TEI-compatible reranking (Score)
//   POST /v1/retrieve   Retrieve, documents as plain JSON strings
//   POST /v1/score      Score
//   POST /v1/prepare    Prepare
//   GET  /v1/model_info GetModelInfo
//   GET  /health        200 when serving, else 503
//   GET  /openapi.json  the OpenAPI document
// An `X-Timeout-Ms` request header is the call's deadline, as a gRPC
// client's deadline is. Errors are {"error": {code, status, message}} with
// the HTTP status of status_mapping.
class HttpGateway {
 public:
  // Serves `address` ("host:port"; port 0 picks a free port) once Start()
  // runs.
  static absl::StatusOr<std::unique_ptr<HttpGateway>> Create(
      const std::string& address, Frontend* frontend);
  // The metrics endpoint on its own port: GET /metrics (Prometheus text
  // format, Frontend::metrics()) and GET /health, nothing else.
  static absl::StatusOr<std::unique_ptr<HttpGateway>> CreateMetrics(
      const std::string& address, Frontend* frontend);
  ~HttpGateway();

  // Binds and serves.
  absl::Status Start();
  // Stops listening and waits for the requests being answered.
  void Stop();

  int port() const { return port_; }

 private:
  explicit HttpGateway(Frontend* frontend);
  void AddRoutes();
  void AddMetricsRoutes();

  Frontend* const frontend_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_HTTP_GATEWAY_H_

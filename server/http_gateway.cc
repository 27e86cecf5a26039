#include "server/http_gateway.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "model/runtime/status_macros.h"
#include "server/connection_limits.h"
#include "server/http_api.h"
#include "server/http_server.h"
#include "server/openapi_document.h"
#include "server/pem_file.h"
#include "server/status_mapping.h"
#include "server/web_assets.h"

namespace attnr::server {
namespace {

using nlohmann::json;

constexpr char kJson[] = "application/json";

absl::Time DeadlineOf(const HttpRequest& req) {
  int64_t ms = 0;
  if (absl::SimpleAtoi(req.Header("x-timeout-ms"), &ms) && ms > 0) {
    return absl::Now() + absl::Milliseconds(ms);
  }
  return absl::InfiniteFuture();
}

// `http_status` 0: the status's own mapping (status_mapping).
HttpResponse ErrorResponse(const absl::Status& status, int http_status = 0) {
  HttpResponse res;
  res.status = http_status != 0 ? http_status : ToHttpStatus(status);
  if (const absl::Duration wait = RetryAfterOf(status);
      wait > absl::ZeroDuration()) {
    res.headers.emplace_back("Retry-After",
                             absl::StrCat(absl::ToInt64Seconds(wait)));
  }
  if (absl::IsUnauthenticated(status)) {
    res.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  res.body = ErrorJson(status, res.status);
  return res;
}

HttpResponse JsonResponse(std::string body) {
  HttpResponse res;
  res.body = std::move(body);
  return res;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrFormat("%016x%016x", random(), random());
}

// A call through the frontend that outlives the handler: the connection is
// suspended (no thread held) until `done` answers it.
template <typename Request, typename Response>
struct PendingCall {
  PendingCall(Frontend* frontend, const char* method, const HttpRequest& req)
      : call(frontend, "http", method, req.peer, DeadlineOf(req),
             req.Header("authorization")) {}
  FrontendCall call;
  Request request;
  Response response;
};

// Whether a Content-Type names JSON ("application/json", parameters such
// as "; charset=utf-8" allowed).
bool IsJson(absl::string_view content_type) {
  absl::string_view type = absl::StripAsciiWhitespace(
      content_type.substr(0, content_type.find(';')));
  return absl::EqualsIgnoreCase(type, kJson);
}

// Checks and parses an HTTP call into `pending.request`: an
// unauthenticated caller is refused before its body is read, then a body
// not declared as JSON (415: a form or text/plain POST needs no CORS
// preflight, so any web page could send one from a user's browser), then
// the body is parsed as JSON and by `parse`. False when the call was
// answered here (with the error). An admitted call stops when its client
// hangs up (as a gRPC call does when cancelled).
template <typename Request, typename Response, typename Parse>
bool Admit(const std::shared_ptr<PendingCall<Request, Response>>& call,
           const HttpRequest& req, Parse parse, const HttpReply& reply) {
  PendingCall<Request, Response>& pending = *call;
  int http_status = 0;
  absl::Status status = [&] {
    if (!pending.call.auth_status().ok()) return pending.call.auth_status();
    if (!IsJson(req.Header("content-type"))) {
      http_status = 415;
      return absl::InvalidArgumentError(
          "Content-Type: must be application/json");
    }
    ASSIGN_OR_RETURN(auto body, ParseJsonBody(req.body));
    ASSIGN_OR_RETURN(auto parsed, parse(body));
    pending.request = std::move(parsed);
    return absl::OkStatus();
  }();
  if (status.ok()) {
    req.hangup->OnHangup([call] { call->call.CallerGone(); });
    return true;
  }
  pending.call.SetOutcome(status, 0, 0);
  reply(ErrorResponse(status, http_status));
  return false;
}

// Serves `path` as the frontend's `run` method: the body parsed by `parse`
// into its request message, the response message answered as JSON.
template <typename Request, typename Response>
void ServeMethod(HttpServer& server, const char* path, const char* method,
                 Frontend* frontend,
                 absl::StatusOr<Request> (*parse)(const nlohmann::json&),
                 void (Frontend::*run)(FrontendCall*, const Request*, Response*,
                                       CallDone),
                 int (*documents)(const Request&)) {
  server.Route("POST", path, [=](const HttpRequest& req, HttpReply reply) {
    auto pending =
        std::make_shared<PendingCall<Request, Response>>(frontend, method, req);
    if (!Admit(pending, req, parse, reply)) return;
    (frontend->*run)(
        &pending->call, &pending->request, &pending->response,
        [pending, reply, documents](const absl::Status& status) {
          pending->call.SetOutcome(status, documents(pending->request),
                                   pending->response.usage().document_tokens());
          reply(status.ok() ? JsonResponse(MessageToJson(pending->response))
                            : ErrorResponse(status));
        });
  });
}

}  // namespace

HttpGateway::HttpGateway(Frontend* frontend) : frontend_(frontend) {}

HttpGateway::~HttpGateway() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Create(
    const std::string& address, Frontend* frontend) {
  std::unique_ptr<HttpGateway> gateway(new HttpGateway(frontend));
  const attnr::v1::ServerConfig& config = frontend->config();
  HttpServer::Options options;
  options.address = address;
  options.name = "HTTP gateway";
  options.max_body_bytes = config.transport().max_message_bytes();
  ApplyConnectionLimits(ResolveConnectionLimits(config.transport()), &options);
  if (!config.transport().tls().cert_file().empty()) {
    const struct {
      const std::string& path;
      const char* field;
      std::string* pem;
    } files[] = {
        {config.transport().tls().cert_file(), "transport.tls.cert_file",
         &options.tls_cert_pem},
        {config.transport().tls().key_file(), "transport.tls.key_file",
         &options.tls_key_pem},
        {config.transport().tls().client_ca_file(),
         "transport.tls.client_ca_file", &options.tls_client_ca_pem},
    };
    for (const auto& f : files) {
      if (f.path.empty()) continue;
      ASSIGN_OR_RETURN(*f.pem, ReadPemFile(f.path, f.field));
    }
  }
  gateway->server_ = std::make_unique<HttpServer>(
      std::move(options), [](const absl::Status& status, int http_status) {
        return ErrorResponse(status, http_status);
      });
  gateway->AddRoutes();
  return gateway;
}

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::CreateMetrics(
    const std::string& address, Frontend* frontend) {
  std::unique_ptr<HttpGateway> gateway(new HttpGateway(frontend));
  HttpServer::Options options;
  // A host-less ":port" is this machine only: metrics describe the load
  // and the documents' sizes, not for every network by accident.
  options.address = absl::StartsWith(address, ":")
                        ? absl::StrCat("localhost", address)
                        : address;
  options.name = "metrics";
  options.threads = 1;
  options.max_connections = 16;
  options.max_body_bytes = 4096;
  gateway->server_ = std::make_unique<HttpServer>(
      std::move(options), [](const absl::Status& status, int http_status) {
        return ErrorResponse(status, http_status);
      });
  gateway->AddMetricsRoutes();
  return gateway;
}

void HttpGateway::AddMetricsRoutes() {
  Frontend* const frontend = frontend_;
  const bool require_auth =
      frontend->config().transport().metrics_require_auth();
  server_->Route(
      "GET", "/metrics",
      [frontend, require_auth](const HttpRequest& req, HttpReply reply) {
        if (require_auth) {
          // Through the frontend's auth (and its throttle); logged.
          FrontendCall call(frontend, "http", "Metrics", req.peer,
                            absl::InfiniteFuture(),
                            req.Header("authorization"));
          call.SetOutcome(call.auth_status(), 0, 0);
          if (!call.auth_status().ok()) {
            return reply(ErrorResponse(call.auth_status()));
          }
        }
        HttpResponse res;
        res.content_type = "text/plain; version=0.0.4; charset=utf-8";
        res.body = frontend->metrics().Render();
        reply(std::move(res));
      });
  server_->Route(
      "GET", "/health", [frontend](const HttpRequest&, HttpReply reply) {
        HttpResponse res;
        res.status = frontend->serving() ? 200 : 503;
        res.content_type = "text/plain";
        res.body = frontend->serving() ? "SERVING\n" : "NOT_SERVING\n";
        reply(std::move(res));
      });
}

absl::Status HttpGateway::Start() {
  absl::Status started = server_->Start();
  if (started.ok()) port_ = server_->port();
  return started;
}

void HttpGateway::Stop() {
  if (server_ != nullptr) server_->Stop();
}

void HttpGateway::AddRoutes() {
  HttpServer& s = *server_;
  Frontend* const frontend = frontend_;

  // The playground page (client/web/, embedded in the binary): open, like
  // /health; what it asks goes through the API and its auth (disable_page
  // turns it off).
  const absl::Span<const WebAsset> assets =
      frontend->config().transport().disable_page()
          ? absl::Span<const WebAsset>()
          : WebAssets();
  for (const WebAsset& asset : assets) {
    s.Route("GET", std::string(asset.path),
            [&asset](const HttpRequest&, HttpReply reply) {
              HttpResponse res;
              res.content_type = std::string(asset.content_type);
              res.body = std::string(asset.body);
              res.headers.emplace_back("Cache-Control", "no-cache");
              res.headers.emplace_back(
                  "Content-Security-Policy",
                  "default-src 'self'; style-src 'self' 'unsafe-inline'");
              reply(std::move(res));
            });
  }

  s.Route("GET", "/health", [frontend](const HttpRequest&, HttpReply reply) {
    const bool serving = frontend->serving();
    HttpResponse res = JsonResponse(
        json{{"status", serving ? "SERVING" : "NOT_SERVING"}}.dump());
    res.status = serving ? 200 : 503;
    reply(std::move(res));
  });
  if (!frontend->config().transport().disable_openapi()) {
    s.Route("GET", "/openapi.json", [](const HttpRequest&, HttpReply reply) {
      reply(JsonResponse(std::string(OpenApiDocument())));
    });
  }
  s.Route("GET", "/v1/model_info",
          [frontend](const HttpRequest& req, HttpReply reply) {
            FrontendCall call(frontend, "http", "GetModelInfo", req.peer,
                              DeadlineOf(req), req.Header("authorization"));
            attnr::v1::ModelInfo info;
            absl::Status status = frontend->GetModelInfo(&call, &info);
            reply(status.ok() ? JsonResponse(MessageToJson(info))
                              : ErrorResponse(status));
          });

  // The POST routes that mirror an RPC: parse, run through the frontend,
  // answer with the response message as JSON.
  ServeMethod<attnr::v1::RetrieveRequest, attnr::v1::RetrieveResponse>(
      s, "/v1/retrieve", "Retrieve", frontend, RetrieveRequestFromJson,
      &Frontend::Retrieve,
      [](const attnr::v1::RetrieveRequest& r) { return r.documents_size(); });
  ServeMethod<attnr::v1::ScoreRequest, attnr::v1::ScoreResponse>(
      s, "/v1/score", "Score", frontend, ScoreRequestFromJson, &Frontend::Score,
      [](const attnr::v1::ScoreRequest& r) { return r.has_context() ? 1 : 0; });
  ServeMethod<attnr::v1::PrepareRequest, attnr::v1::PrepareResponse>(
      s, "/v1/prepare", "Prepare", frontend, PrepareRequestFromJson,
      &Frontend::Prepare,
      [](const attnr::v1::PrepareRequest& r) { return r.documents_size(); });
  s.Route(
      "POST", "/v1/rerank",
      [frontend](const HttpRequest& req, HttpReply reply) {
        auto pending =
            std::make_shared<PendingCall<RerankCall, attnr::v1::ScoreResponse>>(
                frontend, "Rerank", req);
        if (!Admit(pending, req, RerankCallFromJson, reply)) return;
        frontend->Score(
            &pending->call, &pending->request.request, &pending->response,
            [pending, reply](const absl::Status& score_status) {
              const absl::Status status = RerankStatus(score_status);
              pending->call.SetOutcome(
                  status, pending->request.request.passages_size(),
                  pending->response.usage().document_tokens());
              if (!status.ok()) return reply(ErrorResponse(status));
              reply(JsonResponse(
                  RerankResponseJson(pending->request, pending->response,
                                     NewRequestId())
                      .dump(-1, ' ', false, json::error_handler_t::replace)));
            });
      });
}

}  // namespace attnr::server

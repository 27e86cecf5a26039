#include "server/http_gateway.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <random>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/http_api.h"
#include "server/openapi_document.h"
#include "server/status_mapping.h"

namespace attnr::server {
namespace {

using nlohmann::json;

constexpr char kJson[] = "application/json";

absl::Time DeadlineOf(const httplib::Request& req) {
  int64_t ms = 0;
  if (req.has_header("X-Timeout-Ms") &&
      absl::SimpleAtoi(req.get_header_value("X-Timeout-Ms"), &ms) && ms > 0) {
    return absl::Now() + absl::Milliseconds(ms);
  }
  return absl::InfiniteFuture();
}

std::string PeerOf(const httplib::Request& req) {
  return absl::StrCat(req.remote_addr, ":", req.remote_port);
}

void SendError(const absl::Status& status, httplib::Response& res) {
  res.status = ToHttpStatus(status);
  if (const absl::Duration wait = RetryAfterOf(status);
      wait > absl::ZeroDuration()) {
    res.set_header("Retry-After", absl::StrCat(absl::ToInt64Seconds(wait)));
  }
  if (absl::IsUnauthenticated(status)) {
    res.set_header("WWW-Authenticate", "Bearer");
  }
  res.set_content(ErrorJson(status, res.status), kJson);
}

// Runs one frontend call to its end on this (the HTTP worker's) thread.
absl::Status Await(const std::function<void(CallDone)>& start) {
  struct Result {
    absl::Notification done;
    absl::Status status;
  };
  auto result = std::make_shared<Result>();
  start([result](const absl::Status& status) {
    result->status = status;
    result->done.Notify();
  });
  result->done.WaitForNotification();
  return result->status;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return absl::StrFormat("%016x%016x", random(), random());
}

// Splits "host:port" or "[v6]:port".
absl::Status SplitAddress(const std::string& address, std::string* host,
                          int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 ||
      *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http_listen_address: \"", address, "\" is not host:port"));
  }
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  return absl::OkStatus();
}

// Serves `path` as the frontend's `run` method: the body parsed by `parse`
// into its request message, the response message answered as JSON.
template <typename Request, typename Response>
void ServeMethod(httplib::Server& server, const char* path, const char* method,
                 Frontend* frontend,
                 absl::StatusOr<Request> (*parse)(const nlohmann::json&),
                 void (Frontend::*run)(FrontendCall*, const Request*, Response*,
                                       CallDone),
                 int (*documents)(const Request&)) {
  server.Post(path, [=](const httplib::Request& req, httplib::Response& res) {
    FrontendCall call(frontend, "http", method, PeerOf(req), DeadlineOf(req),
                      req.get_header_value("Authorization"));
    Request request;
    Response response;
    absl::Status status = [&] {
      // Unauthenticated callers are refused before the body is read.
      if (!call.auth_status().ok()) return call.auth_status();
      auto body = ParseJsonBody(req.body);
      if (!body.ok()) return body.status();
      auto parsed = parse(*body);
      if (!parsed.ok()) return parsed.status();
      request = *std::move(parsed);
      return Await([&](CallDone done) {
        (frontend->*run)(&call, &request, &response, std::move(done));
      });
    }();
    call.SetOutcome(status, documents(request),
                    response.usage().document_tokens());
    if (!status.ok()) return SendError(status, res);
    res.set_content(MessageToJson(response), kJson);
  });
}

}  // namespace

HttpGateway::HttpGateway(Frontend* frontend)
    : frontend_(frontend), server_(std::make_unique<httplib::Server>()) {}

HttpGateway::~HttpGateway() { Stop(); }

absl::Status HttpGateway::Bind(const std::string& address, const char* what) {
  std::string host;
  int port = 0;
  if (absl::Status s = SplitAddress(address, &host, &port); !s.ok()) return s;
  port_ = port == 0 ? server_->bind_to_any_port(host)
                    : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for ", what, " on ", address,
                     " (address in use, or not a valid host:port?)"));
  }
  spdlog::info("{} listening on {} (port {})", what, address, port_);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Create(
    const std::string& address, Frontend* frontend) {
  std::unique_ptr<HttpGateway> gateway(new HttpGateway(frontend));
  const attnr::v1::ServerConfig& config = frontend->config();
  if (!config.tls_cert_file().empty()) {
    const std::string& ca = config.tls_client_ca_file();
    auto tls = std::make_unique<httplib::SSLServer>(
        config.tls_cert_file().c_str(), config.tls_key_file().c_str(),
        ca.empty() ? nullptr : ca.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "HTTP gateway: cannot use tls_cert_file ", config.tls_cert_file(),
          " / tls_key_file ", config.tls_key_file(),
          ca.empty() ? "" : absl::StrCat(" / tls_client_ca_file ", ca)));
    }
    gateway->server_ = std::move(tls);
  }
  // Each request holds an HTTP thread while the frontend runs it; the
  // frontend's admission (and its RESOURCE_EXHAUSTED) bounds the work.
  const size_t threads = config.max_concurrent_requests() + 8;
  gateway->server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  gateway->server_->set_payload_max_length(config.max_message_bytes());
  gateway->AddRoutes();
  if (absl::Status s = gateway->Bind(address, "HTTP gateway"); !s.ok()) {
    return s;
  }
  return gateway;
}

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::CreateMetrics(
    const std::string& address, Frontend* frontend) {
  std::unique_ptr<HttpGateway> gateway(new HttpGateway(frontend));
  gateway->server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  gateway->server_->set_payload_max_length(4096);
  gateway->AddMetricsRoutes();
  if (absl::Status s = gateway->Bind(address, "metrics"); !s.ok()) return s;
  return gateway;
}

void HttpGateway::AddMetricsRoutes() {
  Frontend* const frontend = frontend_;
  server_->Get("/metrics",
               [frontend](const httplib::Request&, httplib::Response& res) {
                 res.set_content(frontend->metrics().Render(),
                                 "text/plain; version=0.0.4; charset=utf-8");
               });
  server_->Get(
      "/health", [frontend](const httplib::Request&, httplib::Response& res) {
        res.status = frontend->serving() ? 200 : 503;
        res.set_content(frontend->serving() ? "SERVING\n" : "NOT_SERVING\n",
                        "text/plain");
      });
}

void HttpGateway::Start() {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void HttpGateway::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

void HttpGateway::AddRoutes() {
  httplib::Server& s = *server_;
  Frontend* const frontend = frontend_;
  const uint64_t max_body = frontend->config().max_message_bytes();

  // Errors httplib answers itself (no route, body too large) get the same
  // JSON error body as the API's.
  s.set_error_handler([max_body](const httplib::Request& req,
                                 httplib::Response& res) {
    if (!res.body.empty()) return;
    absl::Status status;
    switch (res.status) {
      case 404:
        status = absl::NotFoundError(absl::StrCat(
            "no route ", req.method, " ", req.path, " (see /openapi.json)"));
        break;
      case 413:
        status = absl::ResourceExhaustedError(
            absl::StrCat("body: over the limit of ", max_body,
                         " bytes (max_message_bytes)"));
        break;
      default:
        status = absl::UnknownError(absl::StrCat("HTTP ", res.status));
        break;
    }
    res.set_content(ErrorJson(status, res.status), kJson);
  });

  s.Get("/health", [frontend](const httplib::Request&, httplib::Response& res) {
    const bool serving = frontend->serving();
    res.status = serving ? 200 : 503;
    res.set_content(
        json{{"status", serving ? "SERVING" : "NOT_SERVING"}}.dump(), kJson);
  });
  s.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(OpenApiDocument()), kJson);
  });
  s.Get("/v1/model_info", [frontend](const httplib::Request& req,
                                     httplib::Response& res) {
    FrontendCall call(frontend, "http", "GetModelInfo", PeerOf(req),
                      DeadlineOf(req), req.get_header_value("Authorization"));
    attnr::v1::ModelInfo info;
    if (absl::Status st = frontend->GetModelInfo(&call, &info); !st.ok()) {
      SendError(st, res);
      return;
    }
    res.set_content(MessageToJson(info), kJson);
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
  s.Post("/v1/rerank", [frontend](const httplib::Request& req,
                                  httplib::Response& res) {
    FrontendCall call(frontend, "http", "Rerank", PeerOf(req), DeadlineOf(req),
                      req.get_header_value("Authorization"));
    RerankCall rerank;
    attnr::v1::ScoreResponse response;
    absl::Status status = [&] {
      if (!call.auth_status().ok()) return call.auth_status();
      auto body = ParseJsonBody(req.body);
      if (!body.ok()) return body.status();
      auto parsed = RerankCallFromJson(*body);
      if (!parsed.ok()) return parsed.status();
      rerank = *std::move(parsed);
      return RerankStatus(Await([&](CallDone done) {
        frontend->Score(&call, &rerank.request, &response, std::move(done));
      }));
    }();
    call.SetOutcome(status, rerank.request.passages_size(),
                    response.usage().document_tokens());
    if (!status.ok()) return SendError(status, res);
    res.set_content(RerankResponseJson(rerank, response, NewRequestId())
                        .dump(-1, ' ', false, json::error_handler_t::replace),
                    kJson);
  });
}

}  // namespace attnr::server

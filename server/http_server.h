#ifndef ATTNR_SERVER_HTTP_SERVER_H_
#define ATTNR_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

struct MHD_Daemon;

namespace attnr::server {

struct HttpRequest {
  std::string method;
  std::string path;
  std::string body;
  // "ip:port" of the client.
  std::string peer;
  // Header names in lower case.
  absl::flat_hash_map<std::string, std::string> headers;

  // The header's value, "" when absent (`name` in lower case).
  std::string Header(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Answers a request; call exactly once, from any thread.
using HttpReply = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const HttpRequest&, HttpReply)>;

// An HTTP/1.1 server (libmicrohttpd) whose handlers answer asynchronously:
// a connection whose request is being worked on is suspended, holding no
// thread, and a few event-loop threads (epoll) serve every connection. So
// open connections cost a socket and a little memory, not a thread each,
// and they are bounded: beyond `max_connections` new connections are not
// accepted (they wait in the kernel's listen backlog until one closes),
// beyond `max_connections_per_ip` one address's new connections are closed
// at once, and a connection with no traffic for
// `idle_timeout_seconds` (an idle kept-alive connection, a client that
// connects and never sends, a body that stops arriving) is closed.
class HttpServer {
 public:
  struct Options {
    // "host:port" (or "[v6]:port"); port 0 picks a free port.
    std::string address;
    // Named in logs and errors ("HTTP gateway", "metrics").
    std::string name = "HTTP";
    int threads = 2;
    int max_connections = 256;
    // 0: no per-address limit.
    int max_connections_per_ip = 0;
    int idle_timeout_seconds = 10;
    // Requests one connection carries before the server closes it (the
    // last answer says "Connection: close").
    int max_requests_per_connection = 100;
    uint64_t max_body_bytes = 1 << 20;
    // TLS (PEM text); empty: plaintext. With a client CA, requests must come
    // with a client certificate it signed.
    std::string tls_cert_pem;
    std::string tls_key_pem;
    std::string tls_client_ca_pem;
  };

  // Renders the server's own errors (no route, body over the limit, no
  // client certificate) in the API's error format.
  using ErrorRenderer = std::function<HttpResponse(const absl::Status&)>;

  HttpServer(Options options, ErrorRenderer render_error);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Before Start.
  void Route(const std::string& method, const std::string& path,
             HttpHandler handler);

  // Binds and serves.
  absl::Status Start();
  int port() const { return port_; }
  // Stops accepting, waits until every request handed to a handler has
  // been answered (a suspended connection must be resumed before the
  // daemon stops), then closes every connection.
  void Stop();

 private:
  struct Exchange;
  friend struct HttpServerCallbacks;

  const HttpHandler* FindRoute(const std::string& method,
                               const std::string& path, bool* path_known) const;
  HttpResponse NoRoute(const HttpRequest& request, bool path_known) const;
  HttpResponse BodyTooLarge() const;
  // A request was handed to its handler and has not been answered yet.
  void BeginPending();
  void EndPending();

  const Options options_;
  const ErrorRenderer render_error_;
  absl::flat_hash_map<std::string, HttpHandler> routes_;  // "METHOD path"
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  absl::Mutex mu_;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_HTTP_SERVER_H_

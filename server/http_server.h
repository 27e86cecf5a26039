#ifndef ATTNR_SERVER_HTTP_SERVER_H_
#define ATTNR_SERVER_HTTP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

struct MHD_Daemon;
struct MHD_Connection;

namespace attnr::server {

// Tells a handler's work that its client went away (closed or reset the
// connection) before the answer: the handler sets what to do with
// OnHangup; the server fires it at most once, and not after the answer.
class HttpHangup {
 public:
  // `hook` runs on the server's watcher thread; it must be quick.
  void OnHangup(std::function<void()> hook);
  // The server's side.
  void Fire();
  void Clear();

 private:
  absl::Mutex mu_;
  std::function<void()> hook_ ABSL_GUARDED_BY(mu_);
  bool cleared_ ABSL_GUARDED_BY(mu_) = false;
};

struct HttpRequest {
  std::string method;
  std::string path;
  std::string body;
  // "ip:port" of the client.
  std::string peer;
  // Header names in lower case.
  absl::flat_hash_map<std::string, std::string> headers;
  // Set while the request waits for its answer.
  std::shared_ptr<HttpHangup> hangup = std::make_shared<HttpHangup>();

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
// and they are bounded: past `max_connections` the connections that have
// waited longest without a request being worked on are closed to make room
// (a reserve of ReserveFor(max_connections) more is accepted meanwhile;
// past that, new ones wait in the kernel's listen backlog), beyond
// `max_connections_per_ip` one address's new connections are closed at
// once, a request that has not arrived whole within
// `request_timeout_seconds` is closed, and a connection with no traffic for
// `idle_timeout_seconds` (an idle kept-alive connection, a client that
// connects and never sends, a body that stops arriving) is closed. A
// client that closes or resets its connection while its request is worked
// on is noticed within ~50 ms (HttpRequest::hangup), so its work stops.
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
    // A request's headers and body must arrive within this long of the
    // connection opening (or of its previous answer), however the bytes
    // trickle in: the idle timeout restarts with every byte, this does not.
    int request_timeout_seconds = 30;
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
  // client certificate) in the API's error format, with `http_status` (0:
  // the status's own mapping).
  using ErrorRenderer =
      std::function<HttpResponse(const absl::Status&, int http_status)>;

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

  // The handler of `method` (HEAD: GET's) on `path`, or null.
  const HttpHandler* FindRoute(const std::string& method,
                               const std::string& path) const;
  // The methods `path` has routes for (with HEAD where it has GET).
  std::vector<std::string> AllowedMethods(const std::string& path) const;
  // 404 for a path with no route; 405 with Allow for a known path.
  HttpResponse NoRoute(const HttpRequest& request) const;
  // INVALID_ARGUMENT unless `path` (as sent) is canonical.
  static absl::Status CheckPath(const std::string& path);
  HttpResponse BodyTooLarge() const;
  // A request was handed to its handler and has not been answered yet.
  void BeginPending();
  void EndPending();
  // A connection (libmicrohttpd's socket context), under mu_.
  struct Connection {
    MHD_Connection* connection = nullptr;
    int served = 0;  // Requests so far.
    // Since when it has been waiting for or receiving a request (no
    // handler working on one).
    absl::Time receiving_since;
    bool receiving = true;
    bool shut = false;  // Shut down by the sweeper; closing.
  };
  static int ReserveFor(int max_connections);
  void SetReceiving(Connection* connection, bool receiving);
  // Closes connections whose request is overdue, and the longest-waiting
  // ones while over max_connections.
  void SweepConnections();
  // Suspended exchanges, watched for their client hanging up.
  void Watch(const std::shared_ptr<Exchange>& exchange);
  void Unwatch(Exchange* exchange);
  void WatchHangups();

  const Options options_;
  const ErrorRenderer render_error_;
  absl::flat_hash_map<std::string, HttpHandler> routes_;  // "METHOD path"
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
  absl::Mutex mu_;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<Exchange*, std::shared_ptr<Exchange>> watched_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<MHD_Connection*, Connection*> connections_
      ABSL_GUARDED_BY(mu_);
  const absl::Duration request_timeout_;
  absl::Notification stop_watching_;
  std::thread watcher_;
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_HTTP_SERVER_H_

#include "server/http_server.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "server/request_echo.h"

namespace attnr::server {

std::string HttpRequest::Header(absl::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

// One request on a connection, from its first byte to its answer. Owned by
// the connection (MHD's per-request pointer) and by the handler's reply.
struct HttpServer::Exchange {
  HttpServer* server = nullptr;
  MHD_Connection* connection = nullptr;
  HttpRequest request;
  bool body_too_large = false;
  // Answered before the body was read (refused outright).
  bool refused = false;
  bool started = false;
  bool close_after = false;
  absl::Mutex mu;
  bool suspended ABSL_GUARDED_BY(mu) = false;
  std::optional<HttpResponse> response ABSL_GUARDED_BY(mu);

  void Answer(HttpResponse r) {
    request.hangup->Clear();
    bool resume = false;
    {
      absl::MutexLock lock(&mu);
      response = std::move(r);
      resume = suspended;
      suspended = false;
    }
    if (resume) {
      server->Unwatch(this);
      MHD_resume_connection(connection);
    }
    server->EndPending();
  }
};

void HttpHangup::OnHangup(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  if (!cleared_) hook_ = std::move(hook);
}

void HttpHangup::Fire() {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = std::move(hook_);
    hook_ = nullptr;
  }
  if (hook) hook();
}

void HttpHangup::Clear() {
  std::function<void()> drop;
  absl::MutexLock lock(&mu_);
  cleared_ = true;
  drop = std::move(hook_);  // Released (with what it holds) after the lock.
  hook_ = nullptr;
}

namespace {

MHD_Result Queue(MHD_Connection* connection, const HttpResponse& r,
                 bool close_after) {
  MHD_Response* m = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (m == nullptr) return MHD_NO;
  MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE,
                          r.content_type.c_str());
  for (const auto& [name, value] : r.headers) {
    MHD_add_response_header(m, name.c_str(), value.c_str());
  }
  if (close_after) {
    MHD_add_response_header(m, MHD_HTTP_HEADER_CONNECTION, "close");
  }
  const MHD_Result queued =
      MHD_queue_response(connection, static_cast<unsigned>(r.status), m);
  MHD_destroy_response(m);
  return queued;
}

MHD_Result CollectHeader(void* cls, MHD_ValueKind, const char* key,
                         const char* value) {
  auto* headers =
      static_cast<absl::flat_hash_map<std::string, std::string>*>(cls);
  if (key != nullptr) {
    (*headers)[absl::AsciiStrToLower(key)] = value == nullptr ? "" : value;
  }
  return MHD_YES;
}

std::string PeerOf(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "unknown";
  char host[INET6_ADDRSTRLEN] = {};
  const sockaddr* addr = info->client_addr;
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return absl::StrCat(host, ":", ntohs(in->sin_port));
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return absl::StrCat("[", host, "]:", ntohs(in6->sin6_port));
  }
  return "unknown";
}

// With a client CA: the TLS session carries a client certificate that
// verifies against it.
bool ClientCertificateVerified(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info == nullptr || info->tls_session == nullptr) return false;
  auto session = static_cast<gnutls_session_t>(info->tls_session);
  unsigned int count = 0;
  if (gnutls_certificate_get_peers(session, &count) == nullptr || count == 0) {
    return false;
  }
  unsigned int verdict = 0;
  return gnutls_certificate_verify_peers2(session, &verdict) ==
             GNUTLS_E_SUCCESS &&
         verdict == 0;
}

void Log(void*, const char* format, va_list args) {
  char line[512];
  vsnprintf(line, sizeof(line), format, args);
  std::string text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  spdlog::debug("libmicrohttpd: {}", text);
}

// Splits "host:port" or "[v6]:port".
absl::Status SplitAddress(const std::string& address, std::string* host,
                          int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), port) || *port < 0 ||
      *port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not host:port"));
  }
  *host = address.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  return absl::OkStatus();
}

}  // namespace

// MHD's C callbacks, friends of HttpServer.
struct HttpServerCallbacks {
  using ExchangePtr = std::shared_ptr<HttpServer::Exchange>;

  static MHD_Result OnRequest(void* cls, MHD_Connection* connection,
                              const char* url, const char* method,
                              const char* /*version*/, const char* upload,
                              size_t* upload_size, void** request_context) {
    auto* server = static_cast<HttpServer*>(cls);
    if (*request_context == nullptr)
      return Begin(server, connection, url, method, request_context);
    ExchangePtr& ex = *static_cast<ExchangePtr*>(*request_context);
    if (*upload_size != 0) {
      // The body arrives in pieces; past the limit it is read and dropped.
      if (!ex->refused && !ex->body_too_large) {
        if (ex->request.body.size() + *upload_size >
            server->options_.max_body_bytes) {
          ex->body_too_large = true;
          ex->request.body.clear();
        } else {
          ex->request.body.append(upload, *upload_size);
        }
      }
      *upload_size = 0;
      return MHD_YES;
    }
    if (ex->refused) return MHD_YES;
    {
      // Resumed with the handler's answer.
      absl::MutexLock lock(&ex->mu);
      if (ex->response.has_value()) {
        return Queue(connection, *ex->response, ex->close_after);
      }
    }
    if (ex->started) return MHD_YES;
    ex->started = true;
    // Received whole: the request deadline stops counting for it.
    server->SetReceiving(ConnectionOf(connection), false);
    if (ex->body_too_large) {
      return Queue(connection, server->BodyTooLarge(), true);
    }
    if (absl::Status s = HttpServer::CheckPath(ex->request.path); !s.ok()) {
      return Queue(connection, server->render_error_(s, 0), true);
    }
    const HttpHandler* handler =
        server->FindRoute(ex->request.method, ex->request.path);
    if (handler == nullptr) {
      return Queue(connection, server->NoRoute(ex->request), ex->close_after);
    }
    server->BeginPending();
    ExchangePtr keep = ex;
    (*handler)(ex->request,
               [keep](HttpResponse r) { keep->Answer(std::move(r)); });
    absl::MutexLock lock(&ex->mu);
    if (ex->response.has_value()) {
      return Queue(connection, *ex->response, ex->close_after);
    }
    // Held without a thread until the handler answers (Exchange::Answer),
    // its socket watched for the client hanging up meanwhile.
    ex->suspended = true;
    server->Watch(ex);
    MHD_suspend_connection(connection);
    return MHD_YES;
  }

  static MHD_Result Begin(HttpServer* server, MHD_Connection* connection,
                          const char* url, const char* method,
                          void** request_context) {
    auto ex = std::make_shared<HttpServer::Exchange>();
    ex->server = server;
    ex->connection = connection;
    ex->request.method = method;
    ex->request.path = url;
    ex->request.peer = PeerOf(connection);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, CollectHeader,
                              &ex->request.headers);
    *request_context = new ExchangePtr(ex);
    const HttpServer::Options& o = server->options_;
    if (HttpServer::Connection* c = ConnectionOf(connection); c != nullptr) {
      absl::MutexLock lock(&server->mu_);
      ex->close_after = ++c->served >= o.max_requests_per_connection;
    }
    if (!o.tls_client_ca_pem.empty() &&
        !ClientCertificateVerified(connection)) {
      ex->refused = true;
      return Queue(connection,
                   server->render_error_(
                       absl::PermissionDeniedError(
                           "a client certificate signed by tls_client_ca_file "
                           "is required"),
                       0),
                   true);
    }
    // A declared body over the limit: a client that waits for "100
    // Continue" is refused before it sends the body; any other is answered
    // after the body was read (and dropped), so that it sees the answer
    // instead of a connection reset in the middle of its upload.
    uint64_t length = 0;
    if (absl::SimpleAtoi(ex->request.Header("content-length"), &length) &&
        length > o.max_body_bytes) {
      if (absl::EqualsIgnoreCase(ex->request.Header("expect"),
                                 "100-continue")) {
        ex->refused = true;
        return Queue(connection, server->BodyTooLarge(), true);
      }
      ex->body_too_large = true;
    }
    return MHD_YES;
  }

  static size_t KeepEscaped(void*, MHD_Connection*, char* text) {
    return std::strlen(text);
  }

  static HttpServer::Connection* ConnectionOf(MHD_Connection* connection) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(
        connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info == nullptr
               ? nullptr
               : static_cast<HttpServer::Connection*>(info->socket_context);
  }

  static void OnCompleted(void* cls, MHD_Connection* connection,
                          void** request_context, MHD_RequestTerminationCode) {
    // The next request's time on this connection starts now.
    static_cast<HttpServer*>(cls)->SetReceiving(ConnectionOf(connection), true);
    if (*request_context == nullptr) return;
    delete static_cast<ExchangePtr*>(*request_context);
    *request_context = nullptr;
  }

  // Before libmicrohttpd closes a connection's socket (so a socket the
  // sweeper shuts down, under the same lock, is still this connection's).
  static void OnConnection(void* cls, MHD_Connection* connection,
                           void** socket_context,
                           MHD_ConnectionNotificationCode code) {
    auto* server = static_cast<HttpServer*>(cls);
    absl::MutexLock lock(&server->mu_);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      auto* c = new HttpServer::Connection{connection, 0, absl::Now()};
      server->connections_[connection] = c;
      *socket_context = c;
    } else if (*socket_context != nullptr) {
      server->connections_.erase(connection);
      delete static_cast<HttpServer::Connection*>(*socket_context);
      *socket_context = nullptr;
    }
  }
};

HttpServer::HttpServer(Options options, ErrorRenderer render_error)
    : options_(std::move(options)),
      render_error_(std::move(render_error)),
      request_timeout_(absl::Seconds(options_.request_timeout_seconds)) {}

int HttpServer::ReserveFor(int max_connections) {
  return std::max(8, max_connections / 16);
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(const std::string& method, const std::string& path,
                       HttpHandler handler) {
  routes_[absl::StrCat(method, " ", path)] = std::move(handler);
}

const HttpHandler* HttpServer::FindRoute(const std::string& method,
                                         const std::string& path) const {
  // HEAD is GET without the body (libmicrohttpd sends only the headers).
  auto it = routes_.find(
      absl::StrCat(method == "HEAD" ? std::string("GET") : method, " ", path));
  return it == routes_.end() ? nullptr : &it->second;
}

std::vector<std::string> HttpServer::AllowedMethods(
    const std::string& path) const {
  std::vector<std::string> methods;
  for (const auto& [key, handler] : routes_) {
    if (absl::string_view(key).substr(key.find(' ') + 1) != path) continue;
    const std::string method = key.substr(0, key.find(' '));
    methods.push_back(method);
    if (method == "GET") methods.push_back("HEAD");
  }
  std::sort(methods.begin(), methods.end());
  return methods;
}

HttpResponse HttpServer::NoRoute(const HttpRequest& request) const {
  const std::vector<std::string> allowed = AllowedMethods(request.path);
  // Plain short names as they are ("POST /v1/nothing"); others by size.
  const std::string method = IsEchoable(request.method, 16)
                                 ? request.method
                                 : EchoName(request.method, 16);
  const std::string path = IsEchoable(request.path, 128)
                               ? request.path
                               : EchoName(request.path, 128);
  if (allowed.empty()) {
    return render_error_(
        absl::NotFoundError(absl::StrCat("no route ", method, " ", path,
                                         " (see /openapi.json)")),
        0);
  }
  // 405 with the methods the path has (RFC 9110 15.5.6).
  HttpResponse r = render_error_(
      absl::InvalidArgumentError(absl::StrCat(
          "method ", method, " is not allowed on ", path, " (allowed: ",
          absl::StrJoin(allowed, ", "), ")")),
      405);
  r.headers.emplace_back("Allow", absl::StrJoin(allowed, ", "));
  return r;
}

absl::Status HttpServer::CheckPath(const std::string& path) {
  // The path as sent (libmicrohttpd's unescaping is turned off): this API's
  // paths are plain ASCII, so any percent-encoding (%00 included: a NUL
  // would otherwise cut the path), control byte, empty segment or dot
  // segment is a request for something else under a name that looks like
  // one of ours.
  bool canonical = !path.empty() && path[0] == '/';
  for (size_t i = 0; canonical && i < path.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(path[i]);
    canonical = c > 0x20 && c < 0x7F && c != '%' && c != '\\';
  }
  if (canonical) {
    for (absl::string_view bad : {"//", "/./", "/../"}) {
      canonical = canonical && !absl::StrContains(path, bad);
    }
    canonical = canonical && !absl::EndsWith(path, "/.") &&
                !absl::EndsWith(path, "/..");
  }
  if (canonical) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("path: ", EchoName(path, 128),
                   " is not in canonical form (percent-encoding, control "
                   "bytes, empty or dot segments)"));
}

HttpResponse HttpServer::BodyTooLarge() const {
  return render_error_(absl::ResourceExhaustedError(absl::StrCat(
                           "body: over the limit of ", options_.max_body_bytes,
                           " bytes (max_message_bytes)")),
                       0);
}

void HttpServer::BeginPending() {
  absl::MutexLock lock(&mu_);
  ++pending_;
}

void HttpServer::EndPending() {
  absl::MutexLock lock(&mu_);
  --pending_;
}

void HttpServer::Watch(const std::shared_ptr<Exchange>& exchange) {
  absl::MutexLock lock(&mu_);
  watched_[exchange.get()] = exchange;
}

void HttpServer::Unwatch(Exchange* exchange) {
  std::shared_ptr<Exchange> drop;
  absl::MutexLock lock(&mu_);
  auto it = watched_.find(exchange);
  if (it == watched_.end()) return;
  drop = std::move(it->second);
  watched_.erase(it);
}

void HttpServer::SetReceiving(Connection* connection, bool receiving) {
  if (connection == nullptr) return;
  absl::MutexLock lock(&mu_);
  connection->receiving = receiving;
  connection->receiving_since = absl::Now();
}

void HttpServer::SweepConnections() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  auto shut = [](Connection* c) {
    const MHD_ConnectionInfo* info = MHD_get_connection_info(
        c->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    // libmicrohttpd sees the socket end and closes the connection; it
    // cannot have closed it yet (OnConnection's CLOSED takes mu_ first).
    if (info != nullptr) shutdown(info->connect_fd, SHUT_RDWR);
    c->shut = true;
  };
  std::vector<Connection*> receiving;
  size_t open = 0;
  for (const auto& [raw, c] : connections_) {
    if (c->shut) continue;
    ++open;
    if (!c->receiving) continue;
    if (now - c->receiving_since > request_timeout_) {
      // The request (or the wait for it) took too long as a whole: a
      // client trickling bytes resets no timer here.
      shut(c);
      --open;
      continue;
    }
    receiving.push_back(c);
  }
  // Over the cap (the reserve above it is being used): the connections
  // that have waited longest without a request being worked on make room,
  // so /health and ordinary calls get through however many slow clients
  // hold connections.
  const size_t cap = static_cast<size_t>(options_.max_connections);
  if (open <= cap) return;
  std::sort(receiving.begin(), receiving.end(),
            [](const Connection* a, const Connection* b) {
              return a->receiving_since < b->receiving_since;
            });
  for (size_t i = 0; i < receiving.size() && open > cap; ++i, --open) {
    shut(receiving[i]);
  }
}

void HttpServer::WatchHangups() {
  // A suspended connection is not read by libmicrohttpd, so nothing else
  // would notice its client leaving. POLLRDHUP reports the client's FIN
  // even with unread bytes before it (a TLS close_notify); POLLHUP and
  // POLLERR a reset. A socket number reused after an answer can only fire
  // a hangup already cleared.
  std::vector<std::shared_ptr<Exchange>> exchanges;
  std::vector<pollfd> fds;
  while (!stop_watching_.WaitForNotificationWithTimeout(
      absl::Milliseconds(50))) {
    SweepConnections();
    exchanges.clear();
    fds.clear();
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [raw, exchange] : watched_) {
        const MHD_ConnectionInfo* info = MHD_get_connection_info(
            exchange->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (info == nullptr) continue;
        exchanges.push_back(exchange);
        fds.push_back({info->connect_fd, POLLRDHUP, 0});
      }
    }
    if (fds.empty() || poll(fds.data(), fds.size(), 0) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
        exchanges[i]->request.hangup->Fire();
      }
    }
  }
}

absl::Status HttpServer::Start() {
  std::string host;
  int port = 0;
  if (absl::Status s = SplitAddress(options_.address, &host, &port); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(options_.name, " address: ", s.message()));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 ||
      found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        options_.name, " address: cannot resolve host \"", host, "\""));
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                       MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (address.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&address)->sin6_port =
        htons(static_cast<uint16_t>(port));
    flags |= MHD_USE_IPv6;
  } else {
    reinterpret_cast<sockaddr_in*>(&address)->sin_port =
        htons(static_cast<uint16_t>(port));
  }
  std::vector<MHD_OptionItem> items = {
      {MHD_OPTION_SOCK_ADDR, 0, &address},
      {MHD_OPTION_THREAD_POOL_SIZE,
       static_cast<intptr_t>(std::max(1, options_.threads)), nullptr},
      // The reserve above max_connections: new connections are accepted
      // while SweepConnections makes room.
      {MHD_OPTION_CONNECTION_LIMIT,
       static_cast<intptr_t>(options_.max_connections +
                             ReserveFor(options_.max_connections)),
       nullptr},
      {MHD_OPTION_CONNECTION_TIMEOUT,
       static_cast<intptr_t>(options_.idle_timeout_seconds), nullptr},
      {MHD_OPTION_NOTIFY_COMPLETED,
       reinterpret_cast<intptr_t>(&HttpServerCallbacks::OnCompleted), this},
      {MHD_OPTION_NOTIFY_CONNECTION,
       reinterpret_cast<intptr_t>(&HttpServerCallbacks::OnConnection), this},
      // Paths reach the handlers as sent, so CheckPath sees any encoding.
      {MHD_OPTION_UNESCAPE_CALLBACK,
       reinterpret_cast<intptr_t>(&HttpServerCallbacks::KeepEscaped), nullptr},
      {MHD_OPTION_EXTERNAL_LOGGER, reinterpret_cast<intptr_t>(&Log), nullptr},
  };
  if (options_.max_connections_per_ip > 0) {
    items.push_back({MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                     static_cast<intptr_t>(options_.max_connections_per_ip),
                     nullptr});
  }
  if (!options_.tls_cert_pem.empty()) {
    flags |= MHD_USE_TLS;
    items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0,
                     const_cast<char*>(options_.tls_key_pem.c_str())});
    items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0,
                     const_cast<char*>(options_.tls_cert_pem.c_str())});
    if (!options_.tls_client_ca_pem.empty()) {
      items.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0,
                       const_cast<char*>(options_.tls_client_ca_pem.c_str())});
    }
  }
  items.push_back({MHD_OPTION_END, 0, nullptr});
  daemon_ = MHD_start_daemon(flags, 0, nullptr, nullptr,
                             &HttpServerCallbacks::OnRequest, this,
                             MHD_OPTION_ARRAY, items.data(), MHD_OPTION_END);
  if (daemon_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for ", options_.name, " on ", options_.address,
        " (address in use, not a valid host:port, or TLS files not usable?)"));
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  port_ = info != nullptr ? info->port : port;
  spdlog::info("{} listening on {} (port {})", options_.name, options_.address,
               port_);
  watcher_ = std::thread([this] { WatchHangups(); });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (daemon_ == nullptr) return;
  const MHD_socket listener = MHD_quiesce_daemon(daemon_);
  if (listener != MHD_INVALID_SOCKET) close(listener);
  {
    absl::MutexLock lock(&mu_);
    auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return pending_ == 0;
    };
    while (!mu_.AwaitWithTimeout(absl::Condition(&none), absl::Seconds(5))) {
      spdlog::warn("{}: waiting for {} request(s) to be answered",
                   options_.name, pending_);
    }
  }
  // Answers just queued get a moment to be written.
  absl::SleepFor(absl::Milliseconds(50));
  stop_watching_.Notify();
  if (watcher_.joinable()) watcher_.join();
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

}  // namespace attnr::server

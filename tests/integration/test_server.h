// The server under test for the integration tests: the real attnr-server
// binary started on an ephemeral loopback port, and file helpers.
#ifndef ATTNR_TESTS_INTEGRATION_TEST_SERVER_H_
#define ATTNR_TESTS_INTEGRATION_TEST_SERVER_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/retriever_client.h"
#include "gtest/gtest.h"

namespace attnr {

using attnr::client::RetrieverClient;

// Under the sanitizer build the server runs several times slower and keeps
// freed memory in quarantine: time bounds are scaled, memory bounds not
// asserted.
#ifdef ATTNR_SANITIZE
inline constexpr int kSlowdown = 4;
inline constexpr bool kMeasuresMemory = false;
#else
inline constexpr int kSlowdown = 1;
inline constexpr bool kMeasuresMemory = true;
#endif

inline std::string TempDir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/attnr_it_XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  return dir;
}

inline std::string WriteFile(const std::string& name,
                             const std::string& content) {
  const std::string path = TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A server under test. A server that cannot start, or that reports a
// sanitizer error, fails the tests that use it (never skips them).
class ServerProcess {
 public:
  // Starts attnr-server with `config_text` and waits until it is SERVING;
  // on failure error() says why (with the server's log).
  // `client` reaches it (TLS roots and token for secure servers).
  bool Start(const std::string& config_text,
             const std::vector<std::string>& extra_flags = {},
             const client::ClientOptions& client = {}) {
    client_ = client;
    error_ = StartOrExplain(config_text, extra_flags);
    return error_.empty();
  }
  const std::string& error() const { return error_; }

  // Also serve the HTTP gateway and the metrics endpoint on ephemeral
  // loopback ports (before Start).
  void EnableHttp() { http_ = true; }
  int port() const { return port_; }
  int http_port() const { return http_port_; }
  int metrics_port() const { return metrics_port_; }

  // Sends SIGTERM (or `signal_number`) and returns the exit status.
  int Stop(int signal_number = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, signal_number);
    return Wait();
  }

  // Sends a signal without waiting.
  void Signal(int signal_number) {
    if (pid_ > 0) kill(pid_, signal_number);
  }

  // Waits for the process to exit and returns its exit status.
  int Wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    CheckSanitizerReports();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  ~ServerProcess() { Stop(); }

  pid_t pid() const { return pid_; }

  // Threads of the server process now; 0 if unknown.
  int Threads() const {
    std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
    }
    return 0;
  }

  // Resident memory now (VmRSS), in bytes; 0 if unknown.
  int64_t RssBytes() const {
    std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmRSS:", 0) == 0)
        return std::stoll(line.substr(6)) * 1024;
    }
    return 0;
  }

  // Peak resident memory so far (VmHWM), in bytes; 0 if unknown.
  int64_t PeakRssBytes() const {
    std::ifstream status(absl::StrCat("/proc/", pid_, "/status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmHWM:", 0) == 0) {
        return std::stoll(line.substr(6)) * 1024;
      }
    }
    return 0;
  }

 private:
  std::string StartOrExplain(const std::string& config_text,
                             const std::vector<std::string>& extra_flags) {
    const std::string config = WriteFile(
        absl::StrCat("server", ++started_, ".textproto"), config_text);
    port_file_ = absl::StrCat(TempDir(), "/port", started_);
    log_ = absl::StrCat(TempDir(), "/server", started_, ".log");
    std::remove(port_file_.c_str());
    std::vector<std::string> args = {
        ATTNR_SERVER_BIN, "--config",    config,    "--listen",
        "127.0.0.1:0",    "--port_file", port_file_};
    const std::string http_port_file = port_file_ + ".http";
    if (http_) {
      std::remove(http_port_file.c_str());
      args.insert(args.end(),
                  {"--http_listen", "127.0.0.1:0", "--http_port_file",
                   http_port_file, "--metrics_listen", "127.0.0.1:0",
                   "--metrics_port_file", http_port_file + ".metrics"});
    }
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    pid_ = fork();
    if (pid_ == 0) {
      freopen(log_.c_str(), "w", stdout);
      freopen(log_.c_str(), "a", stderr);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(ATTNR_SERVER_BIN, argv.data());
      _exit(127);
    }
    if (pid_ <= 0) return "fork failed";
    const absl::Time give_up = absl::Now() + absl::Seconds(120);
    while (absl::Now() < give_up) {
      std::ifstream in(port_file_);
      if (in >> port_) break;
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return "server exited at start; log:\n" + ReadFile(log_);
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (port_ <= 0) return "server did not start; log:\n" + ReadFile(log_);
    // The server writes the HTTP port before the gRPC one.
    if (http_ &&
        (!(std::ifstream(http_port_file) >> http_port_) ||
         !(std::ifstream(http_port_file + ".metrics") >> metrics_port_))) {
      return "server wrote no HTTP or metrics port; log:\n" + ReadFile(log_);
    }
    // Through "localhost" (the test certificate's name), on loopback.
    RetrieverClient client(client_.tls_root_pem.empty()
                               ? target()
                               : absl::StrCat("localhost:", port_),
                           client_);
    while (absl::Now() < give_up) {
      auto status = client.Health("", absl::Seconds(2));
      if (status.ok() &&
          *status == grpc::health::v1::HealthCheckResponse::SERVING) {
        return "";
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return "server never became SERVING; log:\n" + ReadFile(log_);
  }

  void CheckSanitizerReports() const {
    const std::string text = ReadFile(log_);
    for (const char* report : {"ERROR: AddressSanitizer",
                               "ERROR: LeakSanitizer", "runtime error:"}) {
      if (text.find(report) != std::string::npos) {
        ADD_FAILURE() << "the server reported a sanitizer error; log:\n"
                      << text;
        return;
      }
    }
  }

 public:
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string log() const { return ReadFile(log_); }
  // The log once it contains `text` (access lines are written when gRPC is
  // done with a call, just after the client has its answer), or as it is
  // after `timeout`.
  std::string LogWith(const std::string& text,
                      absl::Duration timeout = absl::Seconds(10)) const {
    const absl::Time give_up = absl::Now() + timeout;
    std::string now = log();
    while (now.find(text) == std::string::npos && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(20));
      now = log();
    }
    return now;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  bool http_ = false;
  client::ClientOptions client_;
  int http_port_ = 0;
  int metrics_port_ = 0;
  static inline int started_ = 0;  // Log and port files per start.
  std::string port_file_;
  std::string log_;
  std::string error_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command line through the shell, capturing stdout and stderr.
inline CommandResult RunShell(const std::string& command) {
  const std::string out = TempDir() + "/cmd.out";
  const std::string err = TempDir() + "/cmd.err";
  const int status =
      std::system(absl::StrCat(command, " >", out, " 2>", err).c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out),
          ReadFile(err)};
}

// Limits small enough for tests to reach, and no pretrained model (BM25
// only), so the server starts at once.
// A test adds settings after it (a group named again merges into the
// first: `transport { ... }`).
inline constexpr char kSmallLimitsConfig[] = R"(
transport { max_message_bytes: 4194304 }
limits {
  max_documents: 3
  max_document_tokens: 60000
  max_request_tokens: 100000
  max_query_tokens: 32
  default_top_k: 5
  max_top_k: 20
  default_passage_tokens: 96
  max_passage_tokens: 256
  max_overlap_sentences: 4
  max_score_passages: 10
  max_document_bytes: 2097152
  max_request_bytes: 3145728
  max_query_bytes: 512
  max_document_id_bytes: 64
  max_document_sentences: 20000
}
admission { drain_seconds: 5 }
)";

// The repository's config/server.textproto: what `make serve` runs.
inline std::string ShippedConfig() {
  return std::string(std::getenv("ATTNR_SOURCE_DIR")) +
         "/config/server.textproto";
}

// The one fixture of suites whose tests share a server, started once per
// suite (and the HTTP gateway with it when `kHttp`); each test gets a
// client. Derive as `class MyTest : public SharedServerTest<MyTest> {}`
// (CRTP: one server per suite). A suite may declare, public,
//   static std::string ServerConfig();  // the config text (it may write
//                                       // the files it names); default:
//                                       // the shipped config file itself
//   static client::ClientOptions ServerClientOptions();  // TLS, token
template <typename Suite, bool kHttp = false>
class SharedServerTest : public ::testing::Test {
 public:
  static std::string ServerConfig() { return ""; }
  static client::ClientOptions ServerClientOptions() { return {}; }

 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    if (kHttp) server_->EnableHttp();
    const std::string config = Suite::ServerConfig();
    if (config.empty()) {
      // The shipped config file itself (the later --config wins).
      server_->Start("", {"--config", ShippedConfig()},
                     Suite::ServerClientOptions());
    } else {
      server_->Start(config, {}, Suite::ServerClientOptions());
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->error().empty()) << server_->error();
    client_ = std::make_unique<RetrieverClient>(server_->target(),
                                                Suite::ServerClientOptions());
  }
  static inline ServerProcess* server_ = nullptr;
  std::unique_ptr<RetrieverClient> client_;
};

}  // namespace attnr

#endif  // ATTNR_TESTS_INTEGRATION_TEST_SERVER_H_

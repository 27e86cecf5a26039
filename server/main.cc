// attnr-server: the long-document retrieval gRPC server.
//
//   attnr-server --config config/server.textproto [--listen HOST:PORT]
//                [--http_listen HOST:PORT] [--threads N] [--port_file PATH]
//                [--http_port_file PATH]
//
// Flags override the config file. SIGINT/SIGTERM drain and stop the server
// (exit codes below).
#include <google/protobuf/stubs/logging.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/server.h"
#include "server/server_config.h"

ABSL_FLAG(std::string, config, "config/server.textproto",
          "Server config (text-format attnr.v1.ServerConfig).");
ABSL_FLAG(std::string, listen, "",
          "host:port to listen on (overrides transport.listen_address; port 0 "
          "picks a "
          "free port).");
ABSL_FLAG(std::string, http_listen, "",
          "host:port of the HTTP/JSON gateway (overrides "
          "transport.http_listen_address; "
          "port 0 picks a free port).");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of the Prometheus metrics endpoint, GET /metrics "
          "(overrides transport.metrics_listen_address).");
ABSL_FLAG(std::string, dense_model, "",
          "Dense view's encoder folder or pinned model name (overrides "
          "views.dense.model; \"none\" serves no dense view).");
ABSL_FLAG(std::string, llm_model, "",
          "The LLM attention view's GGUF file or pinned model name, instead "
          "of the config's views.llm.model ('none': no LLM view).");
ABSL_FLAG(int32_t, threads, 0,
          "Intra-op threads for the model (overrides views.intra_op_threads).");
ABSL_FLAG(std::string, port_file, "",
          "If set, write the bound port to this file once listening (for "
          "tests and supervisors using port 0).");
ABSL_FLAG(std::string, metrics_port_file, "",
          "If set, write the metrics endpoint's bound port to this file.");
ABSL_FLAG(std::string, http_port_file, "",
          "If set, write the HTTP gateway's bound port to this file once "
          "listening.");

namespace {

// Writes to a temporary name and renames, so a reader never sees a
// half-written port.
void WritePortFile(const std::string& path, int port) {
  if (path.empty()) return;
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::rename(tmp.c_str(), path.c_str());
}

// Exit codes: 0 drained cleanly, 1 could not start, 2 bad configuration or
// flags, 3 drain_seconds passed with calls still in flight (they were cut
// off), 128 + signal when a second signal forced the exit.
constexpr int kExitDrainCutOff = 3;

// Leaves without running destructors: threads may still be working (that is
// the point of a bounded drain), and joining them would wait for them.
[[noreturn]] void ExitNow(int code) {
  spdlog::default_logger()->flush();
  std::fflush(nullptr);
  _exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "attnr long-document retrieval server. Usage: attnr-server "
      "[--config PATH] [--listen HOST:PORT] [--http_listen HOST:PORT] "
      "[--threads N]");
  absl::ParseCommandLine(argc, argv);
  // Logs (including the access log) go to stderr; stdout stays free.
  spdlog::set_default_logger(spdlog::stderr_color_mt("attnr"));
  // Protobuf's own log joins ours. A request whose text is not UTF-8 fails
  // its parse with a protobuf error line; the service answers it with
  // INVALID_ARGUMENT naming the field (server/request_text.h), so that line
  // is only debug detail.
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel level,
                                     const char* file, int line,
                                     const std::string& message) {
    if (absl::StrContains(message, "invalid UTF-8")) {
      spdlog::debug("protobuf: {}", message);
    } else if (level >= google::protobuf::LOGLEVEL_ERROR) {
      spdlog::error("protobuf {}:{}: {}", file, line, message);
    } else {
      spdlog::warn("protobuf {}:{}: {}", file, line, message);
    }
  });

  // Block the stop signals in every thread (gRPC's threads inherit this
  // mask) and take them synchronously below with sigwait: no async-signal
  // handler touches the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  attnr::server::ConfigOverrides overrides;
  overrides.listen = absl::GetFlag(FLAGS_listen);
  overrides.http_listen = absl::GetFlag(FLAGS_http_listen);
  overrides.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  overrides.dense_model = absl::GetFlag(FLAGS_dense_model);
  overrides.llm_model = absl::GetFlag(FLAGS_llm_model);
  overrides.threads = absl::GetFlag(FLAGS_threads);
  auto config = attnr::server::ResolveServerConfig(absl::GetFlag(FLAGS_config),
                                                   overrides);
  if (!config.ok()) {
    spdlog::critical("{}", config.status().ToString());
    return 2;
  }

  auto server = attnr::server::Server::Create(*config);
  if (!server.ok()) {
    spdlog::critical("{}", server.status().ToString());
    return 1;
  }
  // The HTTP port first: a reader waiting for the gRPC port finds both.
  WritePortFile(absl::GetFlag(FLAGS_http_port_file), (*server)->http_port());
  WritePortFile(absl::GetFlag(FLAGS_metrics_port_file),
                (*server)->metrics_port());
  WritePortFile(absl::GetFlag(FLAGS_port_file), (*server)->port());
  if (absl::Status s = (*server)->LoadModel(); !s.ok()) {
    spdlog::critical("cannot load the model: {}", s.ToString());
    (*server)->Shutdown(absl::ZeroDuration());
    return 1;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received signal {}", signal_number);
  // A second signal exits at once, whatever the drain is doing.
  std::thread([&stop_signals] {
    int second = 0;
    sigwait(&stop_signals, &second);
    spdlog::warn("received signal {} again; exiting now", second);
    ExitNow(128 + second);
  }).detach();
  // The drain runs beside a hard bound: work that does not stop when told
  // must not keep the process past drain_seconds.
  const absl::Duration drain =
      absl::Seconds(config->admission().drain_seconds());
  auto drained = std::make_shared<absl::Notification>();
  auto clean = std::make_shared<std::atomic<bool>>(false);
  std::thread([server = server->get(), drain, drained, clean] {
    clean->store(server->Shutdown(drain));
    drained->Notify();
  }).detach();
  if (!drained->WaitForNotificationWithTimeout(drain +
                                               absl::Milliseconds(800))) {
    spdlog::error("drain overran drain_seconds; exiting with calls running");
    ExitNow(kExitDrainCutOff);
  }
  ExitNow(clean->load() ? 0 : kExitDrainCutOff);
}

#ifndef ATTNR_CLIENT_LOAD_BENCH_H_
#define ATTNR_CLIENT_LOAD_BENCH_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/retriever_client.h"
#include "proto/attnr/v1/retriever.pb.h"

namespace attnr::client {

// `attnr bench`: bounded concurrent load on a server, and what it got.
struct LoadOptions {
  std::string target;
  ClientOptions client;  // Token and TLS.
  // Requests sent round robin (each a complete RetrieveRequest).
  std::vector<attnr::v1::RetrieveRequest> requests;
  // Make every request's documents unseen by the server (a counter
  // prepended to each text), so every call encodes afresh.
  bool fresh = false;
  uint32_t concurrency = 1;
  // Connections the calls are spread over (the server is fair between
  // connections); at most `concurrency`.
  uint32_t connections = 1;
  // Stop after this many requests (0: no count) or this long (zero: no
  // time limit); at least one is set.
  uint64_t max_requests = 0;
  absl::Duration duration = absl::ZeroDuration();
  absl::Duration timeout = absl::Seconds(60);
};

// Caps that keep a bench from becoming a denial of service by typo.
inline constexpr uint32_t kMaxBenchConcurrency = 256;
inline constexpr uint64_t kMaxBenchRequests = 1000000;
inline constexpr absl::Duration kMaxBenchDuration = absl::Hours(1);

struct LoadReport {
  uint64_t requests = 0;
  double seconds = 0;
  // Client-side latency of every call, milliseconds, sorted.
  std::vector<double> latency_ms;
  // The server's own time of every answered call (usage.timings.total_ms),
  // and its encode time of those that missed the document cache, sorted.
  std::vector<double> server_ms;
  std::vector<double> encode_ms;
  // The largest document_tokens an answer reported.
  uint64_t document_tokens = 0;
  // By status name ("OK", "INVALID_ARGUMENT", ...).
  std::map<std::string, uint64_t> statuses;

  // Nearest-rank percentile of latency_ms (or of `samples`).
  double Percentile(double p) const;
  static double Percentile(const std::vector<double>& samples, double p);
  // Throughput, latency and server-time percentiles, statuses; with
  // `samples` every call's numbers too.
  nlohmann::ordered_json ToJson(bool samples = false) const;
};

// Runs the load; INVALID_ARGUMENT when the options are out of bounds.
absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options);

}  // namespace attnr::client

#endif  // ATTNR_CLIENT_LOAD_BENCH_H_

#ifndef ATTNR_SERVER_METRICS_H_
#define ATTNR_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proto/attnr/v1/retriever.pb.h"

namespace attnr::server {

// The server's Prometheus metrics (text exposition format 0.0.4), served on
// their own port (metrics_listen_address): calls by method, transport and
// status, latency and stage histograms, tokens, cache hits and misses,
// neural work and what it left unjudged; gauges read at scrape time (calls
// in flight, queue depths) come from `gauges`.
class Metrics {
 public:
  // One finished call, as the access log sees it.
  void RecordCall(const std::string& method, const std::string& transport,
                  absl::StatusCode code, double seconds,
                  const attnr::v1::Usage* usage);

  // Name, help, value of the gauges read at scrape time.
  struct Gauge {
    std::string name;
    std::string help;
    std::string labels;  // E.g. pool="neural"; may be empty.
    double value = 0;
  };
  void SetGaugeSource(std::function<std::vector<Gauge>()> gauges);

  std::string Render() const;

 private:
  static constexpr std::array<double, 12> kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
    void Observe(double seconds);
  };
  mutable absl::Mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> calls_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, Histogram> latency_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Histogram> stages_ ABSL_GUARDED_BY(mu_);
  uint64_t document_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t encoded_tokens_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cache_hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cache_misses_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t unjudged_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<std::vector<Gauge>()> gauges_ ABSL_GUARDED_BY(mu_);
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_METRICS_H_

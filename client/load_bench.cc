#include "client/load_bench.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/retriever_client.h"

namespace attnr::client {

double LoadReport::Percentile(double p) const {
  if (latency_ms.empty()) return 0;
  // Nearest rank.
  const size_t rank = static_cast<size_t>(
      std::ceil(p / 100.0 * static_cast<double>(latency_ms.size())));
  return latency_ms[std::clamp<size_t>(rank, 1, latency_ms.size()) - 1];
}

nlohmann::ordered_json LoadReport::ToJson() const {
  nlohmann::ordered_json out;
  out["requests"] = requests;
  out["seconds"] = seconds;
  out["throughput_rps"] = seconds > 0 ? requests / seconds : 0.0;
  double sum = 0;
  for (double ms : latency_ms) sum += ms;
  out["latency_ms"] = {
      {"mean", latency_ms.empty() ? 0.0 : sum / latency_ms.size()},
      {"p50", Percentile(50)},
      {"p90", Percentile(90)},
      {"p99", Percentile(99)},
      {"max", latency_ms.empty() ? 0.0 : latency_ms.back()}};
  out["statuses"] = statuses;
  return out;
}

absl::StatusOr<LoadReport> RunLoad(const LoadOptions& o) {
  if (o.requests.empty()) {
    return absl::InvalidArgumentError("bench needs at least one request");
  }
  if (o.concurrency == 0 || o.concurrency > kMaxBenchConcurrency) {
    return absl::InvalidArgumentError(absl::StrCat("--concurrency must be 1..",
                                                   kMaxBenchConcurrency,
                                                   ", got ", o.concurrency));
  }
  if (o.max_requests > kMaxBenchRequests) {
    return absl::InvalidArgumentError(
        absl::StrCat("--requests must be at most ", kMaxBenchRequests, ", got ",
                     o.max_requests));
  }
  if (o.duration > kMaxBenchDuration || o.duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--duration must be at most 3600 seconds");
  }
  if (o.max_requests == 0 && o.duration == absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "bench needs --requests N or --duration SECONDS");
  }
  const uint32_t connections =
      std::clamp<uint32_t>(o.connections, 1, o.concurrency);
  std::vector<std::unique_ptr<RetrieverClient>> clients;
  for (uint32_t c = 0; c < connections; ++c) {
    ClientOptions options = o.client;
    options.own_connection = connections > 1;
    clients.push_back(std::make_unique<RetrieverClient>(o.target, options));
  }

  std::atomic<uint64_t> next{0};
  std::mutex mu;
  LoadReport report;
  const absl::Time start = absl::Now();
  const absl::Time end = o.duration > absl::ZeroDuration()
                             ? start + o.duration
                             : absl::InfiniteFuture();
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      RetrieverClient& client = *clients[t % connections];
      std::vector<double> latencies;
      std::map<std::string, uint64_t> statuses;
      while (absl::Now() < end) {
        const uint64_t i = next.fetch_add(1);
        if (o.max_requests > 0 && i >= o.max_requests) break;
        attnr::v1::RetrieveRequest request = o.requests[i % o.requests.size()];
        if (o.fresh) {
          for (attnr::v1::Document& d : *request.mutable_documents()) {
            d.set_text(absl::StrCat("bench request ", i, " ",
                                    absl::ToUnixNanos(start), "\n\n",
                                    d.text()));
          }
        }
        const absl::Time sent = absl::Now();
        const absl::Status status =
            client.Retrieve(request, o.timeout).status();
        latencies.push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
        ++statuses[absl::StatusCodeToString(status.code())];
      }
      std::lock_guard<std::mutex> lock(mu);
      report.latency_ms.insert(report.latency_ms.end(), latencies.begin(),
                               latencies.end());
      for (const auto& [name, n] : statuses) report.statuses[name] += n;
    });
  }
  for (std::thread& t : threads) t.join();
  report.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  report.requests = report.latency_ms.size();
  std::sort(report.latency_ms.begin(), report.latency_ms.end());
  return report;
}

}  // namespace attnr::client

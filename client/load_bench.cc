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

double LoadReport::Percentile(const std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  // Nearest rank.
  const size_t rank = static_cast<size_t>(
      std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  return samples[std::clamp<size_t>(rank, 1, samples.size()) - 1];
}

double LoadReport::Percentile(double p) const {
  return Percentile(latency_ms, p);
}

nlohmann::ordered_json LoadReport::ToJson(bool samples) const {
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
  out["server_ms"] = {{"p50", Percentile(server_ms, 50)},
                      {"p90", Percentile(server_ms, 90)}};
  out["encode_ms"] = {{"p50", Percentile(encode_ms, 50)}};
  out["document_tokens"] = document_tokens;
  out["statuses"] = statuses;
  if (samples) {
    out["samples"] = {{"latency_ms", latency_ms},
                      {"server_ms", server_ms},
                      {"encode_ms", encode_ms}};
  }
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
      std::vector<double> latencies, server_ms, encode_ms;
      uint64_t document_tokens = 0;
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
        const absl::StatusOr<attnr::v1::RetrieveResponse> response =
            client.Retrieve(request, o.timeout);
        latencies.push_back(absl::ToDoubleMilliseconds(absl::Now() - sent));
        ++statuses[absl::StatusCodeToString(response.status().code())];
        if (response.ok()) {
          const attnr::v1::Usage& usage = response->usage();
          server_ms.push_back(usage.timings().total_ms());
          if (!usage.cache_hit())
            encode_ms.push_back(usage.timings().encode_ms());
          document_tokens =
              std::max<uint64_t>(document_tokens, usage.document_tokens());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      report.latency_ms.insert(report.latency_ms.end(), latencies.begin(),
                               latencies.end());
      report.server_ms.insert(report.server_ms.end(), server_ms.begin(),
                              server_ms.end());
      report.encode_ms.insert(report.encode_ms.end(), encode_ms.begin(),
                              encode_ms.end());
      report.document_tokens =
          std::max(report.document_tokens, document_tokens);
      for (const auto& [name, n] : statuses) report.statuses[name] += n;
    });
  }
  for (std::thread& t : threads) t.join();
  report.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  report.requests = report.latency_ms.size();
  for (std::vector<double>* v :
       {&report.latency_ms, &report.server_ms, &report.encode_ms}) {
    std::sort(v->begin(), v->end());
  }
  return report;
}

}  // namespace attnr::client

#include "server/metrics.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace attnr::server {

void Metrics::Histogram::Observe(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++counts[i];
  }
  ++count;
  sum += seconds;
}

void Metrics::RecordCall(const std::string& method,
                         const std::string& transport, absl::StatusCode code,
                         double seconds, const attnr::v1::Usage* usage) {
  absl::MutexLock lock(&mu_);
  ++calls_[{method, transport, absl::StatusCodeToString(code)}];
  latency_[method].Observe(seconds);
  if (usage == nullptr || code != absl::StatusCode::kOk) return;
  const attnr::v1::StageTimings& t = usage->timings();
  stages_["queue"].Observe(t.queue_ms() / 1000);
  stages_["text"].Observe(t.text_ms() / 1000);
  stages_["encode"].Observe(t.encode_ms() / 1000);
  stages_["score"].Observe(t.score_ms() / 1000);
  document_tokens_ += usage->document_tokens();
  encoded_tokens_ += usage->encoded_tokens();
  ++(usage->cache_hit() ? cache_hits_ : cache_misses_);
  unjudged_ += usage->unjudged_passages();
}

void Metrics::SetGaugeSource(std::function<std::vector<Gauge>()> gauges) {
  absl::MutexLock lock(&mu_);
  gauges_ = std::move(gauges);
}

namespace {

void Header(std::string* out, const char* name, const char* type,
            const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type,
                  "\n");
}

}  // namespace

std::string Metrics::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  Header(&out, "attnr_requests_total", "counter",
         "Calls finished, by method, transport and status.");
  for (const auto& [key, n] : calls_) {
    const auto& [method, transport, code] = key;
    absl::StrAppend(&out, "attnr_requests_total{method=\"", method,
                    "\",transport=\"", transport, "\",code=\"", code, "\"} ", n,
                    "\n");
  }
  auto histograms = [&](const char* name, const char* help, const char* label,
                        const std::map<std::string, Histogram>& all) {
    Header(&out, name, "histogram", help);
    for (const auto& [value, h] : all) {
      for (size_t i = 0; i < kBuckets.size(); ++i) {
        absl::StrAppend(&out, name, "_bucket{", label, "=\"", value, "\",le=\"",
                        absl::StrFormat("%g", kBuckets[i]), "\"} ", h.counts[i],
                        "\n");
      }
      absl::StrAppend(&out, name, "_bucket{", label, "=\"", value,
                      "\",le=\"+Inf\"} ", h.count, "\n", name, "_sum{", label,
                      "=\"", value, "\"} ", absl::StrFormat("%.6f", h.sum),
                      "\n", name, "_count{", label, "=\"", value, "\"} ",
                      h.count, "\n");
    }
  };
  histograms("attnr_request_duration_seconds",
             "Call latency in the server, by method.", "method", latency_);
  histograms("attnr_stage_duration_seconds",
             "Time in each stage of successful calls.", "stage", stages_);
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    Header(&out, name, "counter", help);
    absl::StrAppend(&out, name, " ", value, "\n");
  };
  counter("attnr_document_tokens_total", "Document tokens processed.",
          document_tokens_);
  counter("attnr_encoded_tokens_total",
          "Tokens the neural views encoded (their spent budget).",
          encoded_tokens_);
  counter("attnr_cache_hits_total",
          "Calls whose every document encoding came from the cache.",
          cache_hits_);
  counter("attnr_cache_misses_total", "Calls that encoded something.",
          cache_misses_);
  counter("attnr_unjudged_passages_total",
          "Passages a neural view left unjudged by its budget.", unjudged_);
  if (gauges_) {
    std::string last;
    for (const Gauge& g : gauges_()) {
      if (g.name != last) {
        Header(&out, g.name.c_str(), "gauge", g.help.c_str());
        last = g.name;
      }
      absl::StrAppend(&out, g.name,
                      g.labels.empty() ? "" : absl::StrCat("{", g.labels, "}"),
                      " ", absl::StrFormat("%g", g.value), "\n");
    }
  }
  return out;
}

}  // namespace attnr::server

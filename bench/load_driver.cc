// attnr-bench: latency and throughput of Retrieve against a running server,
// through the client library (so timings are not polluted by process start).
//
//   attnr-bench --target HOST:PORT --doc FILE --query TEXT
//               [--cold N] [--warm N] [--clients 1,2,4] [--requests N]
//
// Cold calls send the document with a distinct first line each time, so the
// server has never seen its content (no document cache hit); warm calls
// repeat one request. Prints one JSON object with the samples in ms.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/retriever_client.h"

namespace {

struct Options {
  std::string target = "localhost:50051";
  std::string doc;
  std::string query;
  int cold = 5;
  int warm = 20;
  std::vector<int> clients = {1, 2, 4};
  int requests = 20;
  std::vector<attnr::v1::ScoringView> views;  // Empty: the server's default.
};

bool Parse(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--target") {
      o->target = value;
    } else if (flag == "--doc") {
      o->doc = value;
    } else if (flag == "--query") {
      o->query = value;
    } else if (flag == "--cold" && absl::SimpleAtoi(value, &o->cold)) {
    } else if (flag == "--warm" && absl::SimpleAtoi(value, &o->warm)) {
    } else if (flag == "--requests" && absl::SimpleAtoi(value, &o->requests)) {
    } else if (flag == "--views") {
      for (absl::string_view v : absl::StrSplit(value, ',')) {
        attnr::v1::ScoringView view;
        if (!attnr::v1::ScoringView_Parse(
                absl::StrCat("SCORING_VIEW_", absl::AsciiStrToUpper(v)),
                &view)) {
          return false;
        }
        o->views.push_back(view);
      }
    } else if (flag == "--clients") {
      o->clients.clear();
      for (absl::string_view c : absl::StrSplit(value, ',')) {
        int n;
        if (!absl::SimpleAtoi(c, &n) || n < 1) return false;
        o->clients.push_back(n);
      }
    } else {
      return false;
    }
  }
  return !o->doc.empty() && !o->query.empty();
}

attnr::v1::RetrieveRequest Request(const Options& o, const std::string& query,
                                   const std::string& text) {
  attnr::v1::RetrieveRequest r;
  for (auto v : o.views) r.mutable_options()->add_views(v);
  r.set_query(query);
  r.add_documents()->set_text(text);
  r.mutable_options()->set_top_k(10);
  r.mutable_options()->set_return_text(false);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!Parse(argc, argv, &o)) {
    std::cerr << "usage: attnr-bench --target HOST:PORT --doc FILE --query "
                 "TEXT [--cold N] [--warm N] [--clients 1,2,4] [--requests N] "
                 "[--views lexical,dense,llm]\n";
    return 2;
  }
  std::ifstream in(o.doc, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  attnr::client::RetrieverClient client(o.target);
  const absl::Duration timeout = absl::Seconds(600);
  nlohmann::json out;
  uint32_t tokens = 0;

  std::vector<double> cold_encode;
  auto timed = [&](const attnr::v1::RetrieveRequest& request,
                   double* server_ms) -> double {
    const absl::Time start = absl::Now();
    auto response = client.Retrieve(request, timeout);
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (!response.ok()) {
      std::cerr << "attnr-bench: " << response.status() << "\n";
      std::exit(1);
    }
    tokens = response->usage().document_tokens();
    if (server_ms) *server_ms = response->usage().timings().total_ms();
    if (!response->usage().cache_hit()) {
      cold_encode.push_back(response->usage().timings().encode_ms());
    }
    return ms;
  };

  std::vector<double> cold, cold_server, warm, warm_server;
  for (int i = 0; i < o.cold; ++i) {
    double server_ms;
    cold.push_back(timed(
        Request(o, o.query,
                absl::StrCat("attnr-bench cold run ", i, " ",
                             absl::ToUnixNanos(absl::Now()), "\n\n", text)),
        &server_ms));
    cold_server.push_back(server_ms);
  }
  const attnr::v1::RetrieveRequest same = Request(o, o.query, text);
  timed(same, nullptr);  // Makes the next calls repeats.
  for (int i = 0; i < o.warm; ++i) {
    double server_ms;
    warm.push_back(timed(same, &server_ms));
    warm_server.push_back(server_ms);
  }
  out["document_tokens"] = tokens;
  out["document_bytes"] = text.size();
  out["cold_ms"] = cold;
  out["cold_server_ms"] = cold_server;
  out["cold_encode_ms"] = cold_encode;
  out["warm_ms"] = warm;
  out["warm_server_ms"] = warm_server;

  // Throughput: each of n clients sends `requests` repeated calls.
  nlohmann::json throughput = nlohmann::json::object();
  for (int n : o.clients) {
    const absl::Time start = absl::Now();
    std::vector<std::thread> threads;
    for (int c = 0; c < n; ++c) {
      threads.emplace_back([&] {
        for (int i = 0; i < o.requests; ++i) timed(same, nullptr);
      });
    }
    for (auto& t : threads) t.join();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    throughput[std::to_string(n)] = n * o.requests / seconds;
  }
  out["throughput_rps"] = throughput;
  std::cout << out.dump() << "\n";
  return 0;
}

// attnr: command-line client for the attnr retrieval service.
// See CliUsage() (`attnr help`) for the commands and flags.
#include <google/protobuf/stubs/logging.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "client/cli_options.h"
#include "client/load_bench.h"
#include "client/output_format.h"
#include "client/retriever_client.h"
#include "model/runtime/status_macros.h"
#include "model/text/utf8.h"

namespace {

using attnr::client::CliOptions;
using attnr::client::RetrieverClient;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct QueryLine {
  std::string query;
  nlohmann::ordered_json qid;  // null when absent.
  // `attnr bench` only: this line's views ("views": "lexical,dense" or
  // ["lexical"]); empty: the command line's.
  std::vector<std::string> views;
};

bool KnownView(const std::string& view) {
  attnr::v1::ScoringView parsed;
  return attnr::v1::ScoringView_Parse(
             absl::StrCat("SCORING_VIEW_", absl::AsciiStrToUpper(view)),
             &parsed) &&
         parsed != attnr::v1::SCORING_VIEW_UNSPECIFIED;
}

absl::StatusOr<std::vector<QueryLine>> ReadQueries(const std::string& path) {
  ASSIGN_OR_RETURN(auto content, ReadFile(path));
  std::vector<QueryLine> out;
  std::istringstream lines(content);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(
        line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " line ", number, ": not a JSON object"));
    }
    if (!j.contains("query") || !j["query"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " line ", number, ": missing string field \"query\""));
    }
    QueryLine q{j["query"].get<std::string>(),
                j.contains("qid") ? j["qid"] : nlohmann::ordered_json()};
    if (j.contains("views")) {
      const auto& v = j["views"];
      if (v.is_string()) {
        for (absl::string_view name :
             absl::StrSplit(v.get<std::string>(), ',', absl::SkipEmpty())) {
          q.views.emplace_back(name);
        }
      } else if (v.is_array()) {
        for (const auto& name : v) {
          q.views.push_back(name.is_string() ? name.get<std::string>() : "?");
        }
      }
      for (const std::string& name : q.views) {
        if (!KnownView(name)) {
          return absl::InvalidArgumentError(absl::StrCat(
              path, " line ", number, ": unknown view '", name, "'"));
        }
      }
    }
    out.push_back(std::move(q));
  }
  return out;
}

void AddViews(const std::vector<std::string>& views,
              google::protobuf::RepeatedField<int>* out) {
  for (const std::string& v : views) {
    attnr::v1::ScoringView parsed = attnr::v1::SCORING_VIEW_UNSPECIFIED;
    // Checked by ParseCliOptions.
    attnr::v1::ScoringView_Parse(
        absl::StrCat("SCORING_VIEW_", absl::AsciiStrToUpper(v)), &parsed);
    out->Add(parsed);
  }
}

int Fail(const absl::Status& status, const std::string& context = "") {
  std::cerr << "attnr: " << context << absl::StatusCodeToString(status.code())
            << ": " << status.message() << "\n";
  return kExitFailed;
}

// The documents and options of the command line as a RetrieveRequest
// without its query.
absl::StatusOr<attnr::v1::RetrieveRequest> BaseRequest(const CliOptions& o) {
  attnr::v1::RetrieveRequest base;
  for (const std::string& path : o.docs) {
    ASSIGN_OR_RETURN(auto text, ReadFile(path));
    attnr::v1::Document* doc = base.add_documents();
    doc->set_id(path == "-" ? "stdin" : path);
    doc->set_text(std::move(text));
  }
  attnr::v1::RetrieveOptions* options = base.mutable_options();
  options->set_top_k(o.top_k);
  options->set_max_passage_tokens(o.max_passage_tokens);
  options->set_overlap_sentences(o.overlap_sentences);
  options->set_explain(o.explain);
  if (o.explain_sentences) {
    options->set_explain_level(attnr::v1::EXPLAIN_SENTENCES);
  }
  if (o.no_text) options->set_return_text(false);
  if (o.entity_scope.has_value()) options->set_entity_scope(*o.entity_scope);
  if (o.grow_ranges.has_value()) options->set_grow_ranges(*o.grow_ranges);
  AddViews(o.views, options->mutable_views());
  for (const auto& [view, weight] : o.view_weights) {
    (*options->mutable_view_weights())[view] = weight;
  }
  return base;
}

absl::StatusOr<std::vector<QueryLine>> QueriesOf(const CliOptions& o) {
  if (o.has_query) return std::vector<QueryLine>{{o.query, nullptr, {}}};
  return ReadQueries(o.queries_file);
}

int RunRetrieve(const CliOptions& o, RetrieverClient& client) {
  auto built = BaseRequest(o);
  if (!built.ok()) {
    std::cerr << "attnr: " << built.status().message() << "\n";
    return kExitUsage;
  }
  attnr::v1::RetrieveRequest& base = *built;

  if (o.prepare || o.command == "prepare") {
    attnr::v1::PrepareRequest prepare;
    *prepare.mutable_documents() = base.documents();
    *prepare.mutable_options() = base.options();
    auto prepared = client.Prepare(prepare, o.timeout);
    if (!prepared.ok()) return Fail(prepared.status(), "prepare: ");
    if (o.command == "prepare") {
      if (o.json) {
        auto line = attnr::client::ToJsonLine(*prepared, nullptr);
        if (!line.ok()) return Fail(line.status());
        std::cout << *line << "\n";
      } else {
        const attnr::v1::Usage& u = prepared->usage();
        std::cout << "prepared " << base.documents_size()
                  << " document(s): " << u.document_tokens() << " tokens, "
                  << u.passages() << " passages, " << u.encoded_tokens()
                  << " tokens encoded in " << u.timings().total_ms()
                  << " ms; model " << prepared->model() << "\n";
      }
      return 0;
    }
  }

  auto read = QueriesOf(o);
  if (!read.ok()) {
    std::cerr << "attnr: " << read.status().message() << "\n";
    return kExitUsage;
  }
  const std::vector<QueryLine>& queries = *read;
  for (const QueryLine& q : queries) {
    // Queries travel as proto `string`, which protobuf refuses to serialize
    // unless it is UTF-8; say where the bad byte is instead.
    if (absl::Status s = attnr::text::ValidateUtf8(q.query); !s.ok()) {
      std::cerr << "attnr: --query: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  int exit_code = 0;
  for (const QueryLine& q : queries) {
    base.set_query(q.query);
    auto response = client.Retrieve(base, o.timeout);
    if (!response.ok()) {
      // Keep going in batch mode; the exit status reports the failure.
      exit_code = Fail(response.status(),
                       q.qid.is_null() ? "" : "qid " + q.qid.dump() + ": ");
      continue;
    }
    if (o.json) {
      auto line = attnr::client::ToJsonLine(*response, q.qid);
      if (!line.ok()) return Fail(line.status());
      std::cout << *line << "\n";
    } else {
      std::cout << attnr::client::FormatRetrieveTable(q.query, *response);
      if (response->explanations_size() > 0) {
        std::cout << attnr::client::FormatSentenceAttention(*response,
                                                            base.documents());
      }
      std::cout << "\n";
    }
    std::cout.flush();
  }
  return exit_code;
}

int RunScore(const CliOptions& o, RetrieverClient& client) {
  if (absl::Status s = attnr::text::ValidateUtf8(o.query); !s.ok()) {
    std::cerr << "attnr: --query: " << s.message() << "\n";
    return kExitUsage;
  }
  attnr::v1::ScoreRequest request;
  request.set_query(o.query);
  if (!o.context.empty()) {
    auto text = ReadFile(o.context);
    if (!text.ok()) {
      std::cerr << "attnr: " << text.status().message() << "\n";
      return kExitUsage;
    }
    request.mutable_context()->set_id(o.context);
    request.mutable_context()->set_text(*std::move(text));
  }
  for (const attnr::client::PassageArg& p : o.passages) {
    attnr::v1::ScorePassage* out = request.add_passages();
    switch (p.kind) {
      case attnr::client::PassageArg::Kind::kText:
        out->set_text(p.text);
        break;
      case attnr::client::PassageArg::Kind::kCharRange:
        out->mutable_char_range()->set_start(p.start);
        out->mutable_char_range()->set_end(p.end);
        break;
      case attnr::client::PassageArg::Kind::kByteRange:
        out->mutable_byte_range()->set_start(p.start);
        out->mutable_byte_range()->set_end(p.end);
        break;
    }
  }
  request.mutable_options()->set_explain(o.explain);
  AddViews(o.views, request.mutable_options()->mutable_views());
  for (const auto& [view, weight] : o.view_weights) {
    (*request.mutable_options()->mutable_view_weights())[view] = weight;
  }
  auto response = client.Score(request, o.timeout);
  if (!response.ok()) return Fail(response.status());
  if (o.json) {
    auto line = attnr::client::ToJsonLine(*response, nullptr);
    if (!line.ok()) return Fail(line.status());
    std::cout << *line << "\n";
  } else {
    std::cout << attnr::client::FormatScoreTable(*response);
  }
  return 0;
}

// Token and TLS files of the command line.
absl::StatusOr<attnr::client::ClientOptions> ClientOptionsOf(
    const CliOptions& o) {
  attnr::client::ClientOptions out;
  out.token = o.token;
  if (out.token.empty()) {
    if (const char* env = std::getenv("ATTNR_TOKEN"); env != nullptr) {
      out.token = env;
    }
  }
  for (auto [path, pem] : {std::pair{&o.tls_ca, &out.tls_root_pem},
                           std::pair{&o.tls_cert, &out.tls_cert_pem},
                           std::pair{&o.tls_key, &out.tls_key_pem}}) {
    if (path->empty()) continue;
    ASSIGN_OR_RETURN(auto text, ReadFile(*path));
    *pem = std::move(text);
  }
  return out;
}

// `attnr bench`: the command line's documents and queries sent as bounded
// concurrent load; prints throughput, latency percentiles and statuses.
int RunBench(const CliOptions& o,
             const attnr::client::ClientOptions& client_options) {
  auto base = BaseRequest(o);
  auto queries = QueriesOf(o);
  for (const absl::Status& s : {base.status(), queries.status()}) {
    if (!s.ok()) {
      std::cerr << "attnr: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  attnr::client::LoadOptions load;
  load.target = o.target;
  load.client = client_options;
  load.timeout = o.timeout;
  load.concurrency = o.concurrency;
  load.connections = o.connections;
  load.max_requests = o.requests;
  load.duration = o.duration;
  load.fresh = o.fresh;
  for (const QueryLine& q : *queries) {
    if (absl::Status s = attnr::text::ValidateUtf8(q.query); !s.ok()) {
      std::cerr << "attnr: query: " << s.message() << "\n";
      return kExitUsage;
    }
    attnr::v1::RetrieveRequest request = *base;
    request.set_query(q.query);
    if (!q.views.empty()) {
      request.mutable_options()->clear_views();
      AddViews(q.views, request.mutable_options()->mutable_views());
    }
    load.requests.push_back(std::move(request));
  }
  auto report = attnr::client::RunLoad(load);
  if (!report.ok()) {
    std::cerr << "attnr: " << report.status().message() << "\n";
    return kExitUsage;
  }
  const nlohmann::ordered_json j = report->ToJson(o.samples);
  if (o.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << absl::StrFormat(
        "%d requests in %.2f s: %.1f requests/s\n"
        "latency ms: mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
        report->requests, report->seconds, j["throughput_rps"].get<double>(),
        j["latency_ms"]["mean"].get<double>(), report->Percentile(50),
        report->Percentile(90), report->Percentile(99),
        j["latency_ms"]["max"].get<double>());
    for (const auto& [name, n] : report->statuses) {
      std::cout << "  " << name << ": " << n << "\n";
    }
  }
  return 0;
}

int RunInfo(const CliOptions& o, RetrieverClient& client) {
  auto info = client.GetModelInfo(o.timeout);
  if (!info.ok()) return Fail(info.status());
  if (o.json) {
    auto line = attnr::client::ToJsonLine(*info, nullptr);
    if (!line.ok()) return Fail(line.status());
    std::cout << *line << "\n";
  } else {
    std::cout << attnr::client::FormatModelInfo(*info);
  }
  return 0;
}

int RunHealth(const CliOptions& o, RetrieverClient& client) {
  auto status = client.Health(o.service, o.timeout);
  if (!status.ok()) return Fail(status.status());
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(*status);
  if (o.json) {
    std::cout << nlohmann::json{{"status", name}}.dump() << "\n";
  } else {
    std::cout << name << "\n";
  }
  return *status == grpc::health::v1::HealthCheckResponse::SERVING
             ? 0
             : kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  // A document that is not UTF-8 is sent as it is, so that the server names
  // the field and the byte offset; protobuf's warning on serializing it
  // would only repeat that, less exactly.
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*,
                                     int, const std::string& message) {
    if (!absl::StrContains(message, "invalid UTF-8")) {
      std::cerr << "protobuf: " << message << "\n";
    }
  });
  auto options = attnr::client::ParseCli(argc, argv);
  if (!options.ok()) {
    std::cerr << "attnr: " << options.status().message() << "\n\n"
              << attnr::client::CliUsage();
    return kExitUsage;
  }
  if (options->command == "help") {
    std::cout << attnr::client::CliUsage();
    return 0;
  }
  auto client_options = ClientOptionsOf(*options);
  if (!client_options.ok()) {
    std::cerr << "attnr: " << client_options.status().message() << "\n";
    return kExitUsage;
  }
  if (options->command == "bench") return RunBench(*options, *client_options);
  RetrieverClient client(options->target, *client_options);
  if (options->command == "retrieve" || options->command == "prepare") {
    return RunRetrieve(*options, client);
  }
  if (options->command == "score") return RunScore(*options, client);
  if (options->command == "info") return RunInfo(*options, client);
  return RunHealth(*options, client);
}

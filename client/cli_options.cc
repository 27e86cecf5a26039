#include "client/cli_options.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "model/runtime/status_macros.h"
#include "proto/attnr/v1/retriever.pb.h"

namespace attnr::client {
namespace {

// The views the API defines, as the CLI spells them ("lexical, ...").
std::string KnownViews() {
  const google::protobuf::EnumDescriptor* e =
      attnr::v1::ScoringView_descriptor();
  std::vector<std::string> names;
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() == 0) continue;
    names.push_back(absl::AsciiStrToLower(
        absl::StripPrefix(e->value(i)->name(), "SCORING_VIEW_")));
  }
  return absl::StrJoin(names, ", ");
}

absl::Status Usage(absl::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

absl::StatusOr<uint32_t> ParseCount(absl::string_view flag,
                                    absl::string_view value) {
  uint32_t n;
  if (!absl::SimpleAtoi(value, &n)) {
    return Usage(
        absl::StrCat(flag, " needs a non-negative integer, got '", value, "'"));
  }
  return n;
}

absl::StatusOr<PassageArg> ParseRange(absl::string_view flag,
                                      absl::string_view value,
                                      PassageArg::Kind kind) {
  std::vector<absl::string_view> parts = absl::StrSplit(value, ':');
  PassageArg arg;
  arg.kind = kind;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &arg.start) ||
      !absl::SimpleAtoi(parts[1], &arg.end)) {
    return Usage(
        absl::StrCat(flag, " needs START:END (half-open), got '", value, "'"));
  }
  return arg;
}

}  // namespace

const char* CliUsage() {
  return R"(attnr - client for the attnr long-document retrieval service

usage:
  attnr retrieve --doc FILE [--doc FILE ...] (--query TEXT | --queries FILE.jsonl)
                 [--top-k N] [--max-passage-tokens N] [--overlap N]
                 [--views lexical,dense,llm,entity] [--explain] [--no-text]
                 [--weights dense=0.8,lexical=0.2]  (the request's own
                               fusion weights; scores are then uncalibrated)
                 [--explain=sentences]  (also the sentences the question
                               attended to most, per document: the LLM view)
                 [--prepare]   (warm the documents first: every passage judged)
                 [--scope | --no-scope]  (follow shared entities from the
                               best matches; default: the server's)
                 [--grow-ranges | --no-grow-ranges]  (grow passages into
                               predicted ranges; default: the server's)
  attnr prepare  --doc FILE [--doc FILE ...] [--max-passage-tokens N]
                 [--overlap N] [--views ...]
  attnr score    --query TEXT (--passage TEXT | --char-range S:E | --byte-range S:E)...
                 [--context FILE] [--explain] [--views ...] [--weights ...]
  attnr info
  attnr health   [--service NAME]
  attnr bench    --doc FILE [--doc FILE ...] (--query TEXT | --queries FILE.jsonl)
                 [--concurrency N] [--connections N] [--requests N]
                 [--duration SECONDS] [--fresh] [--samples] [retrieve's options]
                 (bounded load: throughput, latency and server-time
                 percentiles, statuses; --queries lines may name their own
                 "views"; --fresh makes every request's documents new to the
                 server; --samples adds every call's numbers to --json; at
                 most 256 concurrent calls, 1,000,000 requests, 3600 seconds)

common flags:
  --target HOST:PORT   server address (default localhost:50051)
  --timeout SECONDS    RPC deadline, decimal (default 60)
  --token TOKEN        bearer token for servers with auth (default:
                       $ATTNR_TOKEN)
  --tls-ca FILE        TLS: the server certificate's root (PEM); with
                       --tls-cert FILE --tls-key FILE for servers that
                       verify clients
  --json               one JSON line per response (protobuf JSON mapping,
                       proto field names, defaults printed; "qid" first in
                       batch mode when the input line has one)

--doc - reads standard input. --queries reads one JSON object per line with
"query" and optional "qid"; other fields are ignored. Ranges are half-open
code-point (--char-range) or UTF-8 byte (--byte-range) offsets into --context.
Exit status: 0 ok, 1 the server refused or failed (its status on stderr),
2 usage error.
)";
}

absl::StatusOr<CliOptions> ParseCli(int argc, const char* const* argv) {
  CliOptions o;
  if (argc < 2) return Usage("missing command");
  o.command = argv[1];
  if (o.command == "--help" || o.command == "-h") o.command = "help";
  static const char* kCommands[] = {"retrieve", "prepare", "score", "info",
                                    "health",   "bench",   "help"};
  if (std::none_of(std::begin(kCommands), std::end(kCommands),
                   [&](const char* c) { return o.command == c; })) {
    return Usage(absl::StrCat("unknown command '", o.command, "'"));
  }
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = flag.find('=');
        flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    auto next = [&]() -> absl::StatusOr<std::string> {
      if (has_value) return value;
      if (i + 1 >= argc) return Usage(absl::StrCat(flag, " needs a value"));
      return std::string(argv[++i]);
    };
    auto is = [&](const char* name) { return flag == name; };
    if (is("--explain") && has_value) {
      // --explain=LEVEL, the levels of the API's explain_level.
      const std::string level = absl::AsciiStrToLower(value);
      if (level != "none" && level != "scores" && level != "sentences") {
        return Usage(absl::StrCat("--explain: unknown level '", value,
                                  "' (none, scores, sentences)"));
      }
      o.explain = level != "none";
      o.explain_sentences = level == "sentences";
      continue;
    }
    if (is("--json") || is("--explain") || is("--no-text") || is("--prepare") ||
        is("--scope") || is("--no-scope") || is("--grow-ranges") ||
        is("--no-grow-ranges") || is("--fresh") || is("--samples") ||
        is("--help") || is("-h")) {
      if (has_value) return Usage(absl::StrCat(flag, " takes no value"));
      if (is("--json")) o.json = true;
      if (is("--explain")) o.explain = true;
      if (is("--no-text")) o.no_text = true;
      if (is("--prepare")) o.prepare = true;
      if (is("--scope")) o.entity_scope = true;
      if (is("--no-scope")) o.entity_scope = false;
      if (is("--grow-ranges")) o.grow_ranges = true;
      if (is("--no-grow-ranges")) o.grow_ranges = false;
      if (is("--fresh")) o.fresh = true;
      if (is("--samples")) o.samples = true;
      if (is("--help") || is("-h")) o.command = "help";
      continue;
    }
    absl::StatusOr<std::string> v = next();
    if (!v.ok()) return v.status();
    if (is("--target")) {
      o.target = *v;
    } else if (is("--token")) {
      o.token = *v;
    } else if (is("--tls-ca")) {
      o.tls_ca = *v;
    } else if (is("--tls-cert")) {
      o.tls_cert = *v;
    } else if (is("--tls-key")) {
      o.tls_key = *v;
    } else if (is("--timeout")) {
      double seconds;
      if (!absl::SimpleAtod(*v, &seconds) || !(seconds > 0)) {
        return Usage(absl::StrCat(
            "--timeout needs a positive number of seconds, got '", *v, "'"));
      }
      o.timeout = absl::Seconds(seconds);
    } else if (is("--doc")) {
      o.docs.push_back(*v);
    } else if (is("--query")) {
      o.query = *v;
      o.has_query = true;
    } else if (is("--queries")) {
      o.queries_file = *v;
    } else if (is("--top-k")) {
      ASSIGN_OR_RETURN(auto n, ParseCount(flag, *v));
      o.top_k = n;
    } else if (is("--max-passage-tokens")) {
      ASSIGN_OR_RETURN(auto n, ParseCount(flag, *v));
      o.max_passage_tokens = n;
    } else if (is("--overlap")) {
      ASSIGN_OR_RETURN(auto n, ParseCount(flag, *v));
      o.overlap_sentences = n;
    } else if (is("--views")) {
      for (absl::string_view view :
           absl::StrSplit(*v, ',', absl::SkipEmpty())) {
        attnr::v1::ScoringView parsed;
        if (!attnr::v1::ScoringView_Parse(
                absl::StrCat("SCORING_VIEW_", absl::AsciiStrToUpper(view)),
                &parsed) ||
            parsed == attnr::v1::SCORING_VIEW_UNSPECIFIED) {
          return Usage(absl::StrCat("--views: unknown view '", view, "' (",
                                    KnownViews(), ")"));
        }
        o.views.emplace_back(view);
      }
    } else if (is("--weights")) {
      for (absl::string_view item :
           absl::StrSplit(*v, ',', absl::SkipEmpty())) {
        std::pair<absl::string_view, absl::string_view> kv =
            absl::StrSplit(item, absl::MaxSplits('=', 1));
        double weight = 0;
        if (kv.second.empty() || !absl::SimpleAtod(kv.second, &weight)) {
          return Usage(absl::StrCat("--weights: '", item,
                                    "' is not VIEW=WEIGHT (dense=0.8)"));
        }
        o.view_weights.emplace_back(std::string(kv.first), weight);
      }
    } else if (is("--passage")) {
      PassageArg arg;
      arg.text = *v;
      o.passages.push_back(std::move(arg));
    } else if (is("--char-range") || is("--byte-range")) {
      ASSIGN_OR_RETURN(
          auto arg,
          ParseRange(flag, *v,
                     is("--char-range") ? PassageArg::Kind::kCharRange
                                        : PassageArg::Kind::kByteRange));
      o.passages.push_back(std::move(arg));
    } else if (is("--context")) {
      o.context = *v;
    } else if (is("--service")) {
      o.service = *v;
    } else if (is("--concurrency") || is("--connections")) {
      ASSIGN_OR_RETURN(auto n, ParseCount(flag, *v));
      if (n == 0 || n > 256) {
        return Usage(absl::StrCat(flag, " must be 1..256, got ", n));
      }
      (is("--concurrency") ? o.concurrency : o.connections) = n;
    } else if (is("--requests")) {
      uint64_t n;
      if (!absl::SimpleAtoi(*v, &n) || n == 0 || n > 1000000) {
        return Usage(
            absl::StrCat("--requests must be 1..1000000, got '", *v, "'"));
      }
      o.requests = n;
    } else if (is("--duration")) {
      double seconds;
      if (!absl::SimpleAtod(*v, &seconds) || !(seconds > 0) || seconds > 3600) {
        return Usage(absl::StrCat(
            "--duration must be more than 0 and at most 3600 seconds, got '",
            *v, "'"));
      }
      o.duration = absl::Seconds(seconds);
    } else {
      return Usage(absl::StrCat("unknown flag '", flag, "'"));
    }
  }

  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return Usage("--tls-cert and --tls-key go together");
  }
  if (!o.tls_cert.empty() && o.tls_ca.empty()) {
    return Usage("--tls-cert needs --tls-ca");
  }
  if (o.command == "bench") {
    if (o.docs.empty()) return Usage("bench needs at least one --doc FILE");
    if (o.has_query == !o.queries_file.empty()) {
      return Usage("bench needs exactly one of --query or --queries");
    }
    if (o.requests == 0 && o.duration == absl::ZeroDuration()) {
      return Usage("bench needs --requests N or --duration SECONDS");
    }
  }
  if (o.command == "retrieve") {
    if (o.docs.empty()) return Usage("retrieve needs at least one --doc FILE");
    if (o.has_query == !o.queries_file.empty()) {
      return Usage("retrieve needs exactly one of --query or --queries");
    }
    if (std::count(o.docs.begin(), o.docs.end(), "-") > 1) {
      return Usage("--doc - (standard input) can be given only once");
    }
  } else if (o.command == "prepare") {
    if (o.docs.empty()) return Usage("prepare needs at least one --doc FILE");
    if (std::count(o.docs.begin(), o.docs.end(), "-") > 1) {
      return Usage("--doc - (standard input) can be given only once");
    }
  }
  if (o.explain_sentences && o.command != "retrieve" && o.command != "bench") {
    return Usage(absl::StrCat("--explain=sentences is for retrieve; ",
                              o.command, " takes --explain (scores)"));
  }
  if (o.command == "score") {
    if (!o.has_query) return Usage("score needs --query TEXT");
    if (o.passages.empty()) {
      return Usage(
          "score needs at least one --passage, --char-range or --byte-range");
    }
    const bool has_range = std::any_of(
        o.passages.begin(), o.passages.end(),
        [](const auto& p) { return p.kind != PassageArg::Kind::kText; });
    if (has_range && o.context.empty()) {
      return Usage("--char-range and --byte-range need --context FILE");
    }
  }
  return o;
}

}  // namespace attnr::client

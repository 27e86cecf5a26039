#ifndef ATTNR_CLIENT_CLI_OPTIONS_H_
#define ATTNR_CLIENT_CLI_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace attnr::client {

// A passage argument of `attnr score`, in command-line order.
struct PassageArg {
  enum class Kind { kText, kCharRange, kByteRange };
  Kind kind = Kind::kText;
  std::string text;
  uint32_t start = 0;
  uint32_t end = 0;
};

// The parsed command line of the `attnr` CLI. Hand-parsed rather than with
// absl flags because --doc, --passage and the range flags repeat, in order.
struct CliOptions {
  std::string
      command;  // retrieve | prepare | score | info | health | bench | help
  std::string target = "localhost:50051";
  absl::Duration timeout = absl::Seconds(60);
  bool json = false;
  // Bearer token (--token, else $ATTNR_TOKEN) and TLS files (PEM).
  std::string token;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  // retrieve
  std::vector<std::string> docs;  // Paths; "-" is standard input.
  std::string query;
  bool has_query = false;
  std::string queries_file;
  uint32_t top_k = 0;
  uint32_t max_passage_tokens = 0;
  uint32_t overlap_sentences = 0;
  bool explain = false;
  // retrieve --explain=sentences: also every sentence of every document with
  // the attention the LLM view's question paid to it.
  bool explain_sentences = false;
  bool no_text = false;
  // retrieve: send the documents to Prepare before the first query.
  bool prepare = false;
  // retrieve: follow shared entities from the best matches (the retrieval
  // scope); unset: the server's default.
  std::optional<bool> entity_scope;
  // retrieve: grow passages into predicted ranges; unset: the server's
  // default.
  std::optional<bool> grow_ranges;
  std::vector<std::string> views;  // lexical | dense | llm | entity
  // --weights dense=0.9,lexical=0.1: the request's own fusion weights.
  std::vector<std::pair<std::string, double>> view_weights;
  // score
  std::vector<PassageArg> passages;
  std::string context;  // Path of the context document for ranges.
  // health
  std::string service;
  // bench (with retrieve's documents, queries and options)
  uint32_t concurrency = 1;
  uint32_t connections = 1;
  uint64_t requests = 0;
  absl::Duration duration = absl::ZeroDuration();
  bool fresh = false;
  bool samples = false;  // --samples: every call's numbers in --json.
};

// Parses argv (argv[0] is the program). Errors are usage errors, worded for
// the person at the terminal.
absl::StatusOr<CliOptions> ParseCli(int argc, const char* const* argv);

// The usage text printed by `attnr help` and on usage errors.
const char* CliUsage();

}  // namespace attnr::client

#endif  // ATTNR_CLIENT_CLI_OPTIONS_H_

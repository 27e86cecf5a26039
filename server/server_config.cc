#include "server/server_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "model/runtime/status_macros.h"
#include "model/views/entity_view.h"
#include "model/views/view_registry.h"
#include "server/connection_limits.h"

namespace attnr::server {
namespace {

// Collects text-format parse errors so the operator sees line and column.
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    absl::StrAppend(&errors_, errors_.empty() ? "" : "; ", "line ", line + 1,
                    " column ", column + 1, ": ", message);
  }
  const std::string& errors() const { return errors_; }

 private:
  std::string errors_;
};

// The text-format parser skips reserved field names without a word; a
// config that still sets a removed field must be refused instead, so the
// operator learns the setting no longer does anything.
absl::Status CheckNoReservedFields(const std::string& text) {
  const google::protobuf::Descriptor* d = attnr::v1::ServerConfig::descriptor();
  google::protobuf::io::ArrayInputStream input(text.data(),
                                               static_cast<int>(text.size()));
  ErrorCollector ignored;  // The parser reports syntax errors itself.
  google::protobuf::io::Tokenizer tokens(&input, &ignored);
  tokens.set_comment_style(google::protobuf::io::Tokenizer::SH_COMMENT_STYLE);
  int depth = 0;
  std::string previous;  // The identifier just before, if any.
  int previous_line = 0;
  while (tokens.Next()) {
    const auto& t = tokens.current();
    if (t.type == google::protobuf::io::Tokenizer::TYPE_IDENTIFIER) {
      previous = t.text;
      previous_line = t.line;
      continue;
    }
    if (depth == 0 && !previous.empty() &&
        (t.text == ":" || t.text == "{" || t.text == "<") &&
        d->IsReservedName(previous)) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", previous_line + 1, ": ", previous,
                       " was removed (reserved in attnr.v1.ServerConfig; see "
                       "docs/configuration.md)"));
    }
    if (t.text == "{" || t.text == "<") ++depth;
    if (t.text == "}" || t.text == ">") --depth;
    previous.clear();
  }
  return absl::OkStatus();
}

}  // namespace

attnr::v1::ServerConfig DefaultServerConfig() {
  attnr::v1::ServerConfig c;
  c.set_model_name("attnr");
  c.set_model_version("0.4.0");
  c.set_listen_address("localhost:50051");
  c.set_max_message_bytes(64 << 20);
  c.set_max_documents(16);
  c.set_max_document_tokens(250000);
  c.set_max_request_tokens(500000);
  c.set_max_query_tokens(256);
  c.set_max_query_model_tokens(512);
  c.set_max_call_seconds(300);
  c.set_default_top_k(5);
  c.set_max_top_k(100);
  c.set_default_passage_tokens(128);
  c.set_max_passage_tokens(512);
  c.set_max_overlap_sentences(8);
  c.set_max_score_passages(1000);
  c.set_intra_op_threads(2);
  c.set_cache_bytes(768ull << 20);
  c.set_drain_seconds(10);
  c.set_max_concurrent_requests(8);
  c.set_max_document_bytes(8 << 20);
  c.set_max_request_bytes(32 << 20);
  c.set_max_query_bytes(8192);
  c.set_max_document_id_bytes(256);
  c.set_max_document_sentences(250000);
  c.set_max_queued_requests(64);
  c.set_max_neural_requests(16);
  c.set_max_queued_neural_requests(32);
  c.set_max_neural_requests_per_client(4);
  c.set_auth_failure_burst(20);
  c.set_llm_candidates(16);
  c.set_llm_device("cpu");
  SetConnectionDefaults(&c);
  return c;
}

absl::StatusOr<attnr::v1::ServerConfig> LoadServerConfig(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open server config ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  attnr::v1::ServerConfig config = DefaultServerConfig();
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  // MergeFromString keeps defaults for fields the file does not set.
  if (!parser.MergeFromString(buffer.str(), &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat("server config ", path, ": ", errors.errors()));
  }
  if (absl::Status s = CheckNoReservedFields(buffer.str()); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("server config ", path, ": ", s.message()));
  }
  return config;
}

absl::Status ValidateServerConfig(const attnr::v1::ServerConfig& c) {
  auto fail = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("server config: ", what));
  };
  if (c.listen_address().empty()) return fail("listen_address is empty");
  if (c.model_name().empty() || c.model_version().empty()) {
    return fail("model_name and model_version must not be empty");
  }
  if (c.max_message_bytes() < 1024 || c.max_message_bytes() > INT32_MAX) {
    return fail("max_message_bytes must be in [1024, 2147483647]");
  }
  if (c.max_documents() == 0) return fail("max_documents must be > 0");
  if (c.max_top_k() == 0) return fail("max_top_k must be > 0");
  if (c.default_top_k() == 0 || c.default_top_k() > c.max_top_k()) {
    return fail("default_top_k must be in [1, max_top_k]");
  }
  if (c.max_passage_tokens() == 0)
    return fail("max_passage_tokens must be > 0");
  if (c.default_passage_tokens() == 0 ||
      c.default_passage_tokens() > c.max_passage_tokens()) {
    return fail("default_passage_tokens must be in [1, max_passage_tokens]");
  }
  if (c.max_document_tokens() == 0 || c.max_request_tokens() == 0 ||
      c.max_query_tokens() == 0 || c.max_query_model_tokens() == 0) {
    return fail(
        "token limits (max_document_tokens, max_request_tokens, "
        "max_query_tokens, max_query_model_tokens) must be > 0");
  }
  if (c.max_call_seconds() == 0) return fail("max_call_seconds must be > 0");
  if (c.max_document_bytes() == 0 || c.max_request_bytes() == 0 ||
      c.max_query_bytes() == 0 || c.max_document_id_bytes() == 0 ||
      c.max_document_sentences() == 0) {
    return fail(
        "byte and sentence limits (max_document_bytes, max_request_bytes, "
        "max_query_bytes, max_document_id_bytes, max_document_sentences) "
        "must be > 0");
  }
  if (c.max_document_bytes() > UINT32_MAX - 1) {
    return fail("max_document_bytes must be < 4 GiB");
  }
  if (c.intra_op_threads() == 0) return fail("intra_op_threads must be > 0");
  if (c.max_concurrent_requests() == 0) {
    return fail("max_concurrent_requests must be > 0");
  }
  if (c.max_concurrent_requests() > 256) {
    return fail("max_concurrent_requests must be <= 256 (one thread each)");
  }
  if (c.max_neural_requests() > 1024) {
    return fail("max_neural_requests must be <= 1024 (one thread each)");
  }
  if (c.drain_seconds() < 0) return fail("drain_seconds must be >= 0");
  if (c.tls_cert_file().empty() != c.tls_key_file().empty()) {
    return fail("tls_cert_file and tls_key_file go together");
  }
  if (!c.tls_client_ca_file().empty() && c.tls_cert_file().empty()) {
    return fail("tls_client_ca_file needs tls_cert_file and tls_key_file");
  }
  RETURN_IF_ERROR(ValidateConnectionLimits(c));
  if (!(c.entity_max_sentence_share() >= 0 &&
        c.entity_max_sentence_share() <= 1)) {
    return fail("entity_max_sentence_share must be within [0, 1]");
  }
  for (const auto& [name, weight] : c.fusion_weights()) {
    if (!ViewFromCliName(name).has_value()) {
      std::vector<std::string> known;
      for (const ViewInfo& v : AllViews()) known.push_back(v.cli_name);
      return fail(absl::StrCat("fusion_weights names an unknown view '", name,
                               "' (", absl::StrJoin(known, ", "), ")"));
    }
    if (!(weight >= 0)) {
      return fail(absl::StrCat("fusion_weights[", name, "] must be >= 0"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<attnr::v1::ServerConfig> ResolveServerConfig(
    const std::string& config_path, const ConfigOverrides& overrides) {
  ASSIGN_OR_RETURN(attnr::v1::ServerConfig config,
                   LoadServerConfig(config_path));
  const std::filesystem::path config_dir =
      std::filesystem::path(config_path).parent_path();
  // Models: the flag's model instead of the config's (its pin is the
  // config's model's, so it goes), then resolved.
  auto model = [&](const std::string& flag, std::string* path,
                   std::string* sha256) {
    if (!flag.empty()) {
      const std::string chosen = flag == "none" ? "" : flag;
      if (chosen != *path) sha256->clear();
      *path = chosen;
    }
    *path = ResolveModelFolder(*path, config_dir);
  };
  model(overrides.dense_model, config.mutable_dense_model(),
        config.mutable_dense_model_sha256());
  model(overrides.llm_model, config.mutable_llm_model(),
        config.mutable_llm_model_sha256());
  // Files named relative to the config file, so the server runs the same
  // from any working directory.
  for (std::string* path :
       {config.mutable_llm_readout(), config.mutable_auth_tokens_file(),
        config.mutable_tls_cert_file(), config.mutable_tls_key_file(),
        config.mutable_tls_client_ca_file(), config.mutable_fusion_model()}) {
    if (!path->empty() && path->front() != '/') {
      *path = (config_dir / *path).lexically_normal().string();
    }
  }
  if (!overrides.listen.empty()) {
    config.set_listen_address(overrides.listen);
  }
  if (!overrides.metrics_listen.empty()) {
    config.set_metrics_listen_address(overrides.metrics_listen);
  }
  if (!overrides.http_listen.empty()) {
    config.set_http_listen_address(overrides.http_listen);
  }
  if (overrides.threads < 0) {
    return absl::InvalidArgumentError("--threads must be positive");
  }
  if (overrides.threads > 0) config.set_intra_op_threads(overrides.threads);
  // The settings whose 0 in a file means a default.
  if (config.auth_failure_burst() == 0) config.set_auth_failure_burst(20);
  SetConnectionDefaults(&config);
  if (config.llm_candidates() == 0) config.set_llm_candidates(16);
  if (config.llm_device().empty()) config.set_llm_device("cpu");
  if (config.entity_max_sentence_share() == 0) {
    config.set_entity_max_sentence_share(
        views::EntityViewOptions{}.max_sentence_share);
  }
  RETURN_IF_ERROR(ValidateServerConfig(config));
  return config;
}

std::string ResolveModelFolder(const std::string& value,
                               const std::filesystem::path& config_dir) {
  if (value.empty() || value.front() == '/') return value;
  if (value.find('/') == std::string::npos) {
    const char* cache = std::getenv("ATTNR_MODEL_CACHE");
    const char* home = std::getenv("HOME");
    const std::filesystem::path root =
        cache != nullptr && *cache != '\0'
            ? std::filesystem::path(cache)
            : std::filesystem::path(home != nullptr ? home : "/root") /
                  ".cache/attnr/models";
    return (root / value).string();
  }
  return (config_dir / value).lexically_normal().string();
}

}  // namespace attnr::server

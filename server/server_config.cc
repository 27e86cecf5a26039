#include "server/server_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
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

// Every field's path below ServerConfig, e.g. {"transport", "tls",
// "cert_file"} (a map or repeated field is one leaf).
void LeafPaths(const google::protobuf::Descriptor* d,
               std::vector<std::string>* prefix,
               std::vector<std::vector<std::string>>* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    prefix->push_back(f->name());
    if (f->type() == google::protobuf::FieldDescriptor::TYPE_MESSAGE &&
        !f->is_map()) {
      LeafPaths(f->message_type(), prefix, out);
    } else {
      out->push_back(*prefix);
    }
    prefix->pop_back();
  }
}

}  // namespace

std::string GroupedPlace(const std::string& flat_name) {
  // The one setting whose new name is not its old one's parts.
  if (flat_name == "entity_view") return "views.entity.enabled";
  std::vector<std::vector<std::string>> paths;
  std::vector<std::string> prefix;
  LeafPaths(attnr::v1::ServerConfig::descriptor(), &prefix, &paths);
  for (const std::vector<std::string>& p : paths) {
    if (p.size() < 2) continue;  // model_name, model_version: not moved.
    if (absl::StrJoin(p, "_") == flat_name ||
        absl::StrJoin(p.begin() + 1, p.end(), "_") == flat_name) {
      return absl::StrJoin(p, ".");
    }
  }
  return "";
}

namespace {

// The text-format parser skips reserved field names without a word; a
// config that still sets a flat setting of 0.4.0 or a removed one must be
// refused instead, naming the setting's new place, so the operator's
// setting is never silently dropped.
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
      const std::string place = GroupedPlace(previous);
      if (place.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", previous_line + 1, ": ", previous,
                         " was removed (see proto/attnr/v1/config.proto)"));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", previous_line + 1, ": ", previous, " is now ", place,
          " (settings are grouped: transport, limits, admission, views, "
          "cache; see proto/attnr/v1/config.proto)"));
    }
    if (t.text == "{" || t.text == "<") ++depth;
    if (t.text == "}" || t.text == ">") --depth;
    previous.clear();
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// Gives every setting whose 0 (or "") means a default its value: the one
// place those defaults live (the built-in defaults and ResolveServerConfig
// both end here).
void SetZeroDefaults(attnr::v1::ServerConfig* config) {
  attnr::v1::TransportConfig& transport = *config->mutable_transport();
  if (transport.auth().failure_burst() == 0) {
    transport.mutable_auth()->set_failure_burst(20);
  }
  SetConnectionDefaults(&transport);
  attnr::v1::AdmissionConfig& admission = *config->mutable_admission();
  if (admission.max_neural_requests() == 0) {
    admission.set_max_neural_requests(2 * admission.max_concurrent_requests());
  }
  if (admission.max_queued_neural_requests() == 0) {
    admission.set_max_queued_neural_requests(admission.max_queued_requests());
  }
  attnr::v1::ViewsConfig& views = *config->mutable_views();
  if (views.llm().candidates() == 0) views.mutable_llm()->set_candidates(16);
  for (std::string* device : {views.mutable_dense()->mutable_device(),
                              views.mutable_llm()->mutable_device()}) {
    if (device->empty()) *device = "cpu";
  }
  if (views.entity().max_sentence_share() == 0) {
    views.mutable_entity()->set_max_sentence_share(
        attnr::views::EntityViewOptions{}.max_sentence_share);
  }
}

}  // namespace

attnr::v1::ServerConfig DefaultServerConfig() {
  attnr::v1::ServerConfig c;
  c.set_model_name("attnr");
  c.set_model_version("0.4.0");
  attnr::v1::TransportConfig& transport = *c.mutable_transport();
  transport.set_listen_address("localhost:50051");
  transport.set_max_message_bytes(64 << 20);
  attnr::v1::LimitsConfig& limits = *c.mutable_limits();
  limits.set_max_documents(16);
  limits.set_max_document_tokens(250000);
  limits.set_max_request_tokens(500000);
  limits.set_max_query_tokens(256);
  limits.set_max_query_model_tokens(512);
  limits.set_max_document_bytes(8 << 20);
  limits.set_max_request_bytes(32 << 20);
  limits.set_max_query_bytes(8192);
  limits.set_max_document_id_bytes(256);
  limits.set_max_document_sentences(250000);
  limits.set_default_top_k(5);
  limits.set_max_top_k(100);
  limits.set_default_passage_tokens(128);
  limits.set_max_passage_tokens(512);
  limits.set_max_overlap_sentences(8);
  limits.set_max_score_passages(1000);
  limits.set_max_call_seconds(300);
  attnr::v1::AdmissionConfig& admission = *c.mutable_admission();
  admission.set_max_concurrent_requests(8);
  admission.set_max_queued_requests(64);
  admission.set_max_neural_requests(16);
  admission.set_max_queued_neural_requests(32);
  admission.set_max_neural_requests_per_client(4);
  admission.set_drain_seconds(10);
  attnr::v1::ViewsConfig& views = *c.mutable_views();
  views.set_intra_op_threads(2);
  c.mutable_cache()->set_bytes(768ull << 20);
  SetZeroDefaults(&c);
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
  if (c.model_name().empty() || c.model_version().empty()) {
    return fail("model_name and model_version must not be empty");
  }
  const attnr::v1::TransportConfig& t = c.transport();
  if (t.listen_address().empty())
    return fail("transport.listen_address is empty");
  if (t.max_message_bytes() < 1024 || t.max_message_bytes() > INT32_MAX) {
    return fail("transport.max_message_bytes must be in [1024, 2147483647]");
  }
  if (t.tls().cert_file().empty() != t.tls().key_file().empty()) {
    return fail(
        "transport.tls.cert_file and transport.tls.key_file go together");
  }
  if (!t.tls().client_ca_file().empty() && t.tls().cert_file().empty()) {
    return fail(
        "transport.tls.client_ca_file needs transport.tls.cert_file and "
        "key_file");
  }
  RETURN_IF_ERROR(ValidateConnectionLimits(t));
  const attnr::v1::LimitsConfig& l = c.limits();
  if (l.max_documents() == 0) return fail("limits.max_documents must be > 0");
  if (l.max_top_k() == 0) return fail("limits.max_top_k must be > 0");
  if (l.default_top_k() == 0 || l.default_top_k() > l.max_top_k()) {
    return fail("limits.default_top_k must be in [1, limits.max_top_k]");
  }
  if (l.max_passage_tokens() == 0) {
    return fail("limits.max_passage_tokens must be > 0");
  }
  if (l.default_passage_tokens() == 0 ||
      l.default_passage_tokens() > l.max_passage_tokens()) {
    return fail(
        "limits.default_passage_tokens must be in [1, "
        "limits.max_passage_tokens]");
  }
  if (l.max_document_tokens() == 0 || l.max_request_tokens() == 0 ||
      l.max_query_tokens() == 0 || l.max_query_model_tokens() == 0) {
    return fail(
        "token limits (limits.max_document_tokens, max_request_tokens, "
        "max_query_tokens, max_query_model_tokens) must be > 0");
  }
  if (l.max_call_seconds() == 0) {
    return fail("limits.max_call_seconds must be > 0");
  }
  if (l.max_document_bytes() == 0 || l.max_request_bytes() == 0 ||
      l.max_query_bytes() == 0 || l.max_document_id_bytes() == 0 ||
      l.max_document_sentences() == 0) {
    return fail(
        "byte and sentence limits (limits.max_document_bytes, "
        "max_request_bytes, max_query_bytes, max_document_id_bytes, "
        "max_document_sentences) must be > 0");
  }
  if (l.max_document_bytes() > UINT32_MAX - 1) {
    return fail("limits.max_document_bytes must be < 4 GiB");
  }
  const attnr::v1::AdmissionConfig& a = c.admission();
  if (a.max_concurrent_requests() == 0) {
    return fail("admission.max_concurrent_requests must be > 0");
  }
  if (a.max_concurrent_requests() > 256) {
    return fail(
        "admission.max_concurrent_requests must be <= 256 (one thread each)");
  }
  if (a.max_neural_requests() > 1024) {
    return fail(
        "admission.max_neural_requests must be <= 1024 (one thread each)");
  }
  if (a.drain_seconds() < 0)
    return fail("admission.drain_seconds must be >= 0");
  const attnr::v1::ViewsConfig& v = c.views();
  if (v.intra_op_threads() == 0) {
    return fail("views.intra_op_threads must be > 0");
  }
  if (!(v.entity().max_sentence_share() >= 0 &&
        v.entity().max_sentence_share() <= 1)) {
    return fail("views.entity.max_sentence_share must be within [0, 1]");
  }
  for (const auto& [name, weight] : v.fusion().weights()) {
    if (!ViewFromCliName(name).has_value()) {
      std::vector<std::string> known;
      for (const ViewInfo& info : AllViews()) known.push_back(info.cli_name);
      return fail(absl::StrCat("views.fusion.weights names an unknown view '",
                               name, "' (", absl::StrJoin(known, ", "), ")"));
    }
    if (!(weight >= 0)) {
      return fail(
          absl::StrCat("views.fusion.weights[", name, "] must be >= 0"));
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
  attnr::v1::ViewsConfig& views = *config.mutable_views();
  model(overrides.dense_model, views.mutable_dense()->mutable_model(),
        views.mutable_dense()->mutable_model_sha256());
  model(overrides.llm_model, views.mutable_llm()->mutable_model(),
        views.mutable_llm()->mutable_model_sha256());
  attnr::v1::TransportConfig& transport = *config.mutable_transport();
  // Files named relative to the config file, so the server runs the same
  // from any working directory.
  for (std::string* path :
       {views.mutable_llm()->mutable_readout(),
        views.mutable_fusion()->mutable_model(),
        transport.mutable_auth()->mutable_tokens_file(),
        transport.mutable_tls()->mutable_cert_file(),
        transport.mutable_tls()->mutable_key_file(),
        transport.mutable_tls()->mutable_client_ca_file()}) {
    if (!path->empty() && path->front() != '/') {
      *path = (config_dir / *path).lexically_normal().string();
    }
  }
  if (!overrides.listen.empty()) {
    transport.set_listen_address(overrides.listen);
  }
  if (!overrides.metrics_listen.empty()) {
    transport.set_metrics_listen_address(overrides.metrics_listen);
  }
  if (!overrides.http_listen.empty()) {
    transport.set_http_listen_address(overrides.http_listen);
  }
  if (overrides.threads < 0) {
    return absl::InvalidArgumentError("--threads must be positive");
  }
  if (overrides.threads > 0) views.set_intra_op_threads(overrides.threads);
  SetZeroDefaults(&config);
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

#include "server/http_api.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "model/runtime/status_macros.h"
#include "model/text/utf8.h"
#include "model/views/view_registry.h"
#include "server/request_echo.h"

namespace attnr::server {
namespace {

using nlohmann::json;

absl::Status TypeError(absl::string_view field, absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must be ", expected));
}

// Refuses members other than `allowed` (a misspelt option would otherwise
// be ignored without a word).
absl::Status CheckMembers(const json& object, absl::string_view field,
                          const std::vector<absl::string_view>& allowed) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      // The field's path when its name is a plain short one; else its size.
      const std::string path =
          IsEchoable(key)
              ? absl::StrCat(field.empty() ? "" : absl::StrCat(field, "."), key)
              : absl::StrCat(field.empty() ? "body" : field, " (",
                             EchoName(key), ")");
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": unknown field (known: ", absl::StrJoin(allowed, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<json> Object(const json& value, absl::string_view field) {
  if (!value.is_object()) return TypeError(field, "an object");
  return value;
}

absl::StatusOr<std::string> String(const json& value, absl::string_view field) {
  if (!value.is_string()) return TypeError(field, "a string");
  return value.get<std::string>();
}

absl::StatusOr<bool> Bool(const json& value, absl::string_view field) {
  if (!value.is_boolean()) return TypeError(field, "true or false");
  return value.get<bool>();
}

// A count: a JSON number with an integer value (1e9 included) that fits
// uint32. The limits themselves are the frontend's.
absl::StatusOr<uint32_t> Uint32(const json& value, absl::string_view field) {
  constexpr double kMax = std::numeric_limits<uint32_t>::max();
  if (value.is_number_unsigned() && value.get<uint64_t>() <= kMax) {
    return static_cast<uint32_t>(value.get<uint64_t>());
  }
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (d >= 0 && d <= kMax && std::floor(d) == d) {
      return static_cast<uint32_t>(d);
    }
  }
  return TypeError(field, "an integer from 0 to 4294967295");
}

// A view by any of its names: "lexical", "LEXICAL", "SCORING_VIEW_LEXICAL".
absl::StatusOr<attnr::v1::ScoringView> View(const json& value,
                                            absl::string_view field) {
  std::vector<std::string> names;
  for (const ViewInfo& v : AllViews()) names.push_back(v.cli_name);
  if (value.is_string()) {
    const std::string name = value.get<std::string>();
    for (const ViewInfo& v : AllViews()) {
      if (name == v.cli_name || name == v.name ||
          name == absl::StrCat("SCORING_VIEW_", v.name)) {
        return static_cast<attnr::v1::ScoringView>(v.proto_number);
      }
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": ",
      value.is_string() ? EchoName(value.get<std::string>())
                        : std::string("a JSON ") + value.type_name(),
      " is not a scoring view (use ", absl::StrJoin(names, ", "), ")"));
}

absl::Status Views(const json& value, absl::string_view field,
                   google::protobuf::RepeatedField<int>* out) {
  if (!value.is_array()) return TypeError(field, "an array of view names");
  for (size_t i = 0; i < value.size(); ++i) {
    ASSIGN_OR_RETURN(auto view,
                     View(value[i], absl::StrCat(field, "[", i, "]")));
    out->Add(view);
  }
  return absl::OkStatus();
}

// {"lexical": 0.3, "dense": 0.7}: names and numbers only here; the
// mapping to the library checks the names and the values.
absl::Status ViewWeights(const json& value, absl::string_view field,
                         google::protobuf::Map<std::string, double>* out) {
  if (!value.is_object()) {
    return TypeError(field, "an object of view names to numbers");
  }
  for (const auto& [name, weight] : value.items()) {
    if (!weight.is_number()) {
      return TypeError(absl::StrCat(field, "[\"", EchoName(name), "\"]"),
                       "a number");
    }
    (*out)[name] = weight.get<double>();
  }
  return absl::OkStatus();
}

absl::Status Document(const json& value, absl::string_view field,
                      attnr::v1::Document* out) {
  if (value.is_string()) {
    out->set_text(value.get<std::string>());
    return absl::OkStatus();
  }
  if (!value.is_object() || !value.contains("text")) {
    return TypeError(field, "a string or an object with \"text\"");
  }
  RETURN_IF_ERROR(CheckMembers(value, field, {"id", "text"}));
  ASSIGN_OR_RETURN(auto text,
                   String(value["text"], absl::StrCat(field, ".text")));
  out->set_text(std::move(text));
  if (value.contains("id")) {
    ASSIGN_OR_RETURN(auto id, String(value["id"], absl::StrCat(field, ".id")));
    out->set_id(std::move(id));
  }
  return absl::OkStatus();
}

absl::Status Documents(
    const json& body,
    google::protobuf::RepeatedPtrField<attnr::v1::Document>* out) {
  if (!body.contains("documents")) {
    return absl::InvalidArgumentError(
        "documents: at least one document is required");
  }
  const json& documents = body["documents"];
  if (!documents.is_array()) return TypeError("documents", "an array");
  for (size_t i = 0; i < documents.size(); ++i) {
    RETURN_IF_ERROR(
        Document(documents[i], absl::StrCat("documents[", i, "]"), out->Add()));
  }
  return absl::OkStatus();
}

absl::Status Query(const json& body, std::string* out) {
  if (!body.contains("query"))
    return absl::InvalidArgumentError("query: is empty");
  ASSIGN_OR_RETURN(auto query, String(body["query"], "query"));
  *out = std::move(query);
  return absl::OkStatus();
}

// "EXPLAIN_SENTENCES" (the enum's name, as protobuf's JSON mapping writes
// it) or "sentences" (its short name).
absl::StatusOr<attnr::v1::ExplainLevel> ExplainLevelFromJson(const json& v) {
  if (v.is_string()) {
    std::string name = v.get<std::string>();
    attnr::v1::ExplainLevel level;
    if (attnr::v1::ExplainLevel_Parse(name, &level) ||
        attnr::v1::ExplainLevel_Parse(
            absl::StrCat("EXPLAIN_", absl::AsciiStrToUpper(name)), &level)) {
      return level;
    }
  }
  return absl::InvalidArgumentError(
      "options.explain_level: must be one of \"none\", \"scores\", "
      "\"sentences\" (or EXPLAIN_NONE, EXPLAIN_SCORES, EXPLAIN_SENTENCES)");
}

absl::Status RetrieveOptions(const json& body,
                             attnr::v1::RetrieveOptions* out) {
  if (!body.contains("options")) return absl::OkStatus();
  const json& o = body["options"];
  if (!o.is_object()) return TypeError("options", "an object");
  RETURN_IF_ERROR(
      CheckMembers(o, "options",
                   {"top_k", "max_passage_tokens", "overlap_sentences",
                    "return_text", "explain", "explain_level", "views",
                    "entity_scope", "grow_ranges", "view_weights"}));
  struct CountField {
    const char* name;
    void (attnr::v1::RetrieveOptions::*set)(uint32_t);
  };
  for (const CountField& f :
       {CountField{"top_k", &attnr::v1::RetrieveOptions::set_top_k},
        CountField{"max_passage_tokens",
                   &attnr::v1::RetrieveOptions::set_max_passage_tokens},
        CountField{"overlap_sentences",
                   &attnr::v1::RetrieveOptions::set_overlap_sentences}}) {
    if (!o.contains(f.name)) continue;
    ASSIGN_OR_RETURN(auto n,
                     Uint32(o[f.name], absl::StrCat("options.", f.name)));
    (out->*f.set)(n);
  }
  struct FlagField {
    const char* name;
    void (attnr::v1::RetrieveOptions::*set)(bool);
  };
  for (const FlagField& f :
       {FlagField{"return_text", &attnr::v1::RetrieveOptions::set_return_text},
        FlagField{"explain", &attnr::v1::RetrieveOptions::set_explain},
        FlagField{"entity_scope",
                  &attnr::v1::RetrieveOptions::set_entity_scope},
        FlagField{"grow_ranges",
                  &attnr::v1::RetrieveOptions::set_grow_ranges}}) {
    if (!o.contains(f.name) || o[f.name].is_null()) continue;
    ASSIGN_OR_RETURN(auto b, Bool(o[f.name], absl::StrCat("options.", f.name)));
    (out->*f.set)(b);
  }
  if (o.contains("explain_level") && !o["explain_level"].is_null()) {
    ASSIGN_OR_RETURN(auto level, ExplainLevelFromJson(o["explain_level"]));
    out->set_explain_level(level);
  }
  if (o.contains("view_weights")) {
    RETURN_IF_ERROR(ViewWeights(o["view_weights"], "options.view_weights",
                                out->mutable_view_weights()));
  }
  if (o.contains("views")) {
    return Views(o["views"], "options.views", out->mutable_views());
  }
  return absl::OkStatus();
}

absl::Status Span(const json& value, absl::string_view field,
                  attnr::v1::Span* out) {
  if (!value.is_object()) return TypeError(field, "an object {start, end}");
  RETURN_IF_ERROR(CheckMembers(value, field, {"start", "end"}));
  for (const char* key : {"start", "end"}) {
    if (!value.contains(key)) continue;
    ASSIGN_OR_RETURN(auto n, Uint32(value[key], absl::StrCat(field, ".", key)));
    key[0] == 's' ? out->set_start(n) : out->set_end(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<json> ParseJsonBody(absl::string_view body) {
  // JSON text is UTF-8: a bad sequence is named where it starts, as in
  // every other text field.
  if (absl::Status s = text::ValidateUtf8(body); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("body: ", s.message()));
  }
  try {
    json parsed = json::parse(body.begin(), body.end());
    if (!parsed.is_object()) {
      return absl::InvalidArgumentError("body: must be a JSON object");
    }
    return parsed;
  } catch (const json::parse_error& e) {
    // what(): "[json.exception.parse_error.101] parse error at ...".
    absl::string_view what = e.what();
    if (const size_t end = what.find("] "); end != absl::string_view::npos) {
      what.remove_prefix(end + 2);
    }
    // Only the parser's reason ("syntax error while parsing value -
    // invalid literal"): what follows it ("; last read: '...'; expected
    // ...") quotes the body, and error messages reach the access log, which
    // never carries request text. The quote may itself hold "; ", so
    // everything from its start is dropped.
    std::string reason(what.substr(0, what.find("; last read")));
    if (const size_t at = reason.find(": "); at != std::string::npos) {
      reason.erase(0, at + 2);  // "parse error at line 1, column 7: ".
    }
    // e.byte counts from 1; offsets in this API count from 0.
    return absl::InvalidArgumentError(
        absl::StrCat("body: not valid JSON (UTF-8) at byte ",
                     e.byte == 0 ? 0 : e.byte - 1, ": ", reason));
  } catch (const json::exception& e) {
    // Valid syntax the parser still refuses: a number out of range
    // ("1e999"), nesting too deep. (Found by the request fuzzer: it was
    // uncaught and ended the process.) The parser's message quotes the
    // number, so only its kind is named.
    return absl::InvalidArgumentError(absl::StrCat(
        "body: a value the JSON parser refuses (a number out of range?): "
        "nlohmann::json error ",
        e.id));
  }
}

absl::StatusOr<attnr::v1::RetrieveRequest> RetrieveRequestFromJson(
    const json& body) {
  attnr::v1::RetrieveRequest request;
  if (absl::Status s =
          CheckMembers(body, "", {"query", "documents", "options"});
      !s.ok()) {
    return s;
  }
  RETURN_IF_ERROR(Query(body, request.mutable_query()));
  RETURN_IF_ERROR(Documents(body, request.mutable_documents()));
  RETURN_IF_ERROR(RetrieveOptions(body, request.mutable_options()));
  return request;
}

absl::StatusOr<attnr::v1::PrepareRequest> PrepareRequestFromJson(
    const json& body) {
  attnr::v1::PrepareRequest request;
  RETURN_IF_ERROR(CheckMembers(body, "", {"documents", "options"}));
  RETURN_IF_ERROR(Documents(body, request.mutable_documents()));
  RETURN_IF_ERROR(RetrieveOptions(body, request.mutable_options()));
  return request;
}

absl::StatusOr<attnr::v1::ScoreRequest> ScoreRequestFromJson(const json& body) {
  attnr::v1::ScoreRequest request;
  if (absl::Status s =
          CheckMembers(body, "", {"query", "passages", "context", "options"});
      !s.ok()) {
    return s;
  }
  RETURN_IF_ERROR(Query(body, request.mutable_query()));
  if (body.contains("passages")) {
    const json& passages = body["passages"];
    if (!passages.is_array()) return TypeError("passages", "an array");
    for (size_t i = 0; i < passages.size(); ++i) {
      const std::string field = absl::StrCat("passages[", i, "]");
      const json& p = passages[i];
      attnr::v1::ScorePassage* out = request.add_passages();
      if (p.is_string()) {
        out->set_text(p.get<std::string>());
        continue;
      }
      if (!p.is_object() || p.size() != 1) {
        return TypeError(field,
                         "a string or an object with one of text, char_range "
                         "or byte_range");
      }
      if (p.contains("text")) {
        ASSIGN_OR_RETURN(auto text,
                         String(p["text"], absl::StrCat(field, ".text")));
        out->set_text(std::move(text));
      } else if (p.contains("char_range")) {
        RETURN_IF_ERROR(Span(p["char_range"], field + ".char_range",
                             out->mutable_char_range()));
      } else if (p.contains("byte_range")) {
        RETURN_IF_ERROR(Span(p["byte_range"], field + ".byte_range",
                             out->mutable_byte_range()));
      } else {
        return CheckMembers(p, field, {"text", "char_range", "byte_range"});
      }
    }
  }
  if (body.contains("context")) {
    if (absl::Status s =
            Document(body["context"], "context", request.mutable_context());
        !s.ok()) {
      return s;
    }
  }
  if (body.contains("options")) {
    const json& o = body["options"];
    if (!o.is_object()) return TypeError("options", "an object");
    if (absl::Status s =
            CheckMembers(o, "options", {"views", "explain", "view_weights"});
        !s.ok()) {
      return s;
    }
    if (o.contains("view_weights")) {
      RETURN_IF_ERROR(
          ViewWeights(o["view_weights"], "options.view_weights",
                      request.mutable_options()->mutable_view_weights()));
    }
    if (o.contains("explain")) {
      ASSIGN_OR_RETURN(auto b, Bool(o["explain"], "options.explain"));
      request.mutable_options()->set_explain(b);
    }
    if (o.contains("views")) {
      RETURN_IF_ERROR(Views(o["views"], "options.views",
                            request.mutable_options()->mutable_views()));
    }
  }
  return request;
}

absl::StatusOr<RerankCall> RerankCallFromJson(const json& body) {
  // Members Cohere and Jina clients send that change nothing here: `model`
  // (one model is served), and the chunking and truncation options (the
  // server scores each document whole, or refuses it naming the limit).
  RETURN_IF_ERROR(CheckMembers(
      body, "",
      {"model", "query", "documents", "top_n", "return_documents",
       "max_chunks_per_doc", "rank_fields", "truncation", "views"}));
  RerankCall call;
  RETURN_IF_ERROR(Query(body, call.request.mutable_query()));
  if (body.contains("model") && !body["model"].is_null()) {
    if (auto m = String(body["model"], "model"); !m.ok()) return m.status();
  }
  if (!body.contains("documents") || !body["documents"].is_array()) {
    return TypeError("documents", "an array of strings or {\"text\": ...}");
  }
  const json& documents = body["documents"];
  for (size_t i = 0; i < documents.size(); ++i) {
    const json& d = documents[i];
    const std::string field = absl::StrCat("documents[", i, "]");
    if (d.is_string()) {
      call.request.add_passages()->set_text(d.get<std::string>());
      continue;
    }
    if (!d.is_object() || !d.contains("text")) {
      return TypeError(field, "a string or an object with \"text\"");
    }
    ASSIGN_OR_RETURN(auto text, String(d["text"], field + ".text"));
    call.request.add_passages()->set_text(std::move(text));
  }
  if (body.contains("top_n") && !body["top_n"].is_null()) {
    ASSIGN_OR_RETURN(auto n, Uint32(body["top_n"], "top_n"));
    if (n == 0) return absl::InvalidArgumentError("top_n: must be at least 1");
    call.top_n = n;
  }
  if (body.contains("return_documents") &&
      !body["return_documents"].is_null()) {
    ASSIGN_OR_RETURN(auto b,
                     Bool(body["return_documents"], "return_documents"));
    call.return_documents = b;
  }
  if (body.contains("views")) {
    RETURN_IF_ERROR(Views(body["views"], "views",
                          call.request.mutable_options()->mutable_views()));
  }
  return call;
}

json RerankResponseJson(const RerankCall& call,
                        const attnr::v1::ScoreResponse& response,
                        absl::string_view id) {
  std::vector<const attnr::v1::PassageScore*> ranked;
  for (const attnr::v1::PassageScore& s : response.scores()) {
    ranked.push_back(&s);
  }
  // Best first; ties keep the documents' order.
  std::stable_sort(
      ranked.begin(), ranked.end(),
      [](const attnr::v1::PassageScore* a, const attnr::v1::PassageScore* b) {
        return a->score() > b->score();
      });
  if (call.top_n.has_value() && *call.top_n < ranked.size()) {
    ranked.resize(*call.top_n);
  }
  json results = json::array();
  for (const attnr::v1::PassageScore* s : ranked) {
    json r = {{"index", s->index()}, {"relevance_score", s->score()}};
    if (call.return_documents) {
      r["document"] = {{"text", call.request.passages(s->index()).text()}};
    }
    results.push_back(std::move(r));
  }
  const uint64_t tokens =
      static_cast<uint64_t>(response.usage().query_tokens()) +
      response.usage().document_tokens();
  return {{"id", std::string(id)},
          {"model", response.model()},
          {"results", std::move(results)},
          {"usage", {{"total_tokens", tokens}}},
          {"meta",
           {{"api_version", {{"version", "1"}}},
            {"billed_units", {{"search_units", 1}}}}}};
}

absl::Status RerankStatus(const absl::Status& status) {
  absl::string_view message = status.message();
  if (!absl::ConsumePrefix(&message, "passages")) return status;
  return absl::Status(status.code(), absl::StrCat("documents", message));
}

std::string MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  // Only fails for messages with Any fields of unknown types; ours have none.
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

std::string ErrorJson(const absl::Status& status, int http_status) {
  return json{{"error",
               {{"code", absl::StatusCodeToString(status.code())},
                {"status", http_status},
                {"message", std::string(status.message())}}}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace attnr::server

#include "server/api_mapping.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/request_field.h"
#include "model/runtime/status_macros.h"
#include "model/text/utf8.h"
#include "model/views/view_registry.h"
#include "server/request_echo.h"

namespace attnr::server {
namespace {

using attnr::v1::ServerConfig;

// EXPLAIN_LEVEL_UNSPECIFIED follows the older `explain` flag.
attnr::v1::ExplainLevel ResolvedExplainLevel(
    const attnr::v1::RetrieveOptions& o) {
  if (o.explain_level() != attnr::v1::EXPLAIN_LEVEL_UNSPECIFIED) {
    return o.explain_level();
  }
  return o.explain() ? attnr::v1::EXPLAIN_SCORES : attnr::v1::EXPLAIN_NONE;
}

std::string ApiPath(const FieldRef& ref) {
  switch (ref.field) {
    case RequestField::kQuery:
      return "query";
    case RequestField::kViews:
      return "options.views";
    case RequestField::kViewWeights:
      return "options.view_weights";
    case RequestField::kDocuments:
      return "documents";
    case RequestField::kDocument:
      return absl::StrCat("documents[", ref.index, "]");
    case RequestField::kContextText:
      return "context.text";
    case RequestField::kPassageText:
      return absl::StrCat("passages[", ref.index, "].text");
    case RequestField::kPassageCharRange:
      return absl::StrCat("passages[", ref.index, "].char_range");
    case RequestField::kPassageByteRange:
      return absl::StrCat("passages[", ref.index, "].byte_range");
  }
  return "request";
}

absl::Status CheckUtf8(absl::string_view value, absl::string_view field) {
  if (absl::Status s = text::ValidateUtf8(value); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status CheckQuery(const std::string& query, const ServerConfig& config) {
  // The byte limit first: nothing else reads a query of any length.
  if (query.size() > config.limits().max_query_bytes()) {
    return absl::ResourceExhaustedError(
        absl::StrCat("query: ", query.size(), " bytes, over the limit of ",
                     config.limits().max_query_bytes(), " (max_query_bytes)"));
  }
  RETURN_IF_ERROR(CheckUtf8(query, "query"));
  if (absl::StripAsciiWhitespace(query).empty()) {
    return absl::InvalidArgumentError("query: is empty");
  }
  return absl::OkStatus();
}

absl::Status CheckRequestBytes(uint64_t bytes, const ServerConfig& config,
                               uint64_t* request_bytes) {
  *request_bytes += bytes;
  if (*request_bytes > config.limits().max_request_bytes()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "request: more than ", config.limits().max_request_bytes(),
        " bytes of text in all, over the limit (max_request_bytes)"));
  }
  return absl::OkStatus();
}

// A document's id and text against the byte limits, before anything reads
// the text; `*request_bytes` sums the request's text for the request limit.
absl::Status CheckDocument(const attnr::v1::Document& d,
                           absl::string_view field, const ServerConfig& config,
                           uint64_t* request_bytes) {
  if (d.id().size() > config.limits().max_document_id_bytes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".id: ", d.id().size(), " bytes, over the limit of ",
        config.limits().max_document_id_bytes(), " (max_document_id_bytes)"));
  }
  RETURN_IF_ERROR(CheckUtf8(d.id(), absl::StrCat(field, ".id")));
  if (d.text().size() > config.limits().max_document_bytes()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        field, ".text: ", d.text().size(), " bytes, over the limit of ",
        config.limits().max_document_bytes(), " (max_document_bytes)"));
  }
  if (absl::StripAsciiWhitespace(d.text()).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".text: is empty or only whitespace"));
  }
  return CheckRequestBytes(d.text().size(), config, request_bytes);
}

void ToProto(const text::TextSpan& span, attnr::v1::TextRange* range) {
  range->set_start_char(span.begin_char);
  range->set_end_char(span.end_char);
  range->set_start_byte(span.begin_byte);
  range->set_end_byte(span.end_byte);
}

void ToProto(const ScoreDetail& detail, const std::vector<ViewKind>& views,
             attnr::v1::ScoreBreakdown* out) {
  out->set_lexical(detail.ScoreOf(ViewKind::kLexical));
  out->set_entity(detail.ScoreOf(ViewKind::kEntity));
  out->set_fused(detail.fused);
  for (const std::string& term : detail.ReasonsOf(ViewKind::kLexical)) {
    out->add_matched_terms(term);
  }
  for (ViewKind v : views) out->add_views(ToProtoView(v));
  for (const ViewScore& v : detail.views) {
    attnr::v1::ViewScore* vs = out->add_view_scores();
    vs->set_view(ToProtoView(v.view));
    vs->set_score(v.score);
    for (const std::string& reason : v.reasons) vs->add_reasons(reason);
  }
}

void ToProto(const RetrievalUsage& usage, double total_ms,
             attnr::v1::Usage* out) {
  out->set_query_tokens(usage.query_tokens);
  out->set_document_tokens(static_cast<uint32_t>(usage.document_tokens));
  out->set_sentences(usage.sentences);
  out->set_passages(usage.passages);
  out->set_cache_hit(usage.cache_hit);
  out->set_encoded_tokens(static_cast<uint32_t>(usage.encoded_tokens));
  out->set_unjudged_passages(usage.unjudged_passages);
  out->set_oversized_passages(usage.oversized_passages);
  attnr::v1::StageTimings* t = out->mutable_timings();
  t->set_text_ms(usage.times.text_ms);
  t->set_encode_ms(usage.times.encode_ms);
  t->set_score_ms(usage.times.score_ms);
  t->set_total_ms(total_ms);
}

std::string ModelName(const ModelDescription& model) {
  return absl::StrCat(model.name, "/", model.version);
}

}  // namespace

absl::StatusOr<std::vector<ViewKind>> FromProtoViews(
    const google::protobuf::RepeatedField<int>& views,
    absl::string_view field) {
  std::vector<ViewKind> out;
  for (int i = 0; i < views.size(); ++i) {
    std::optional<ViewKind> kind = ViewFromProtoNumber(views[i]);
    if (!kind.has_value()) {
      std::vector<std::string> names;
      for (const ViewInfo& v : AllViews()) names.push_back(v.name);
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", i, "]: ", views[i], " is not a scoring view (use ",
          absl::StrJoin(names, ", "), ")"));
    }
    out.push_back(*kind);
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<ViewKind, double>>> FromProtoViewWeights(
    const google::protobuf::Map<std::string, double>& weights,
    absl::string_view field) {
  std::vector<std::pair<ViewKind, double>> out;
  for (const auto& [name, weight] : weights) {
    std::optional<ViewKind> kind = ViewFromCliName(name);
    if (!kind.has_value()) {
      std::vector<std::string> names;
      for (const ViewInfo& v : AllViews()) names.push_back(v.cli_name);
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", EchoName(name), " is not a view name (use ",
                       absl::StrJoin(names, ", "), ")"));
    }
    if (!std::isfinite(weight) || weight < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[\"", name, "\"]: ", weight,
                       " is not a weight (a finite number >= 0)"));
    }
    out.emplace_back(*kind, weight);
  }
  // Map order is unspecified on the wire: keep one order.
  std::sort(out.begin(), out.end());
  return out;
}

attnr::v1::ScoringView ToProtoView(ViewKind view) {
  return static_cast<attnr::v1::ScoringView>(InfoOf(view).proto_number);
}

namespace {

// The documents and options of a Retrieve or Prepare request.
absl::StatusOr<RetrieveCall> ToDocumentsCall(
    const google::protobuf::RepeatedPtrField<attnr::v1::Document>& documents,
    const attnr::v1::RetrieveOptions& options, uint64_t request_bytes,
    const ServerConfig& config, const StopSignal& stop) {
  if (documents.empty()) {
    return absl::InvalidArgumentError(
        "documents: at least one document is required");
  }
  if (static_cast<uint32_t>(documents.size()) >
      config.limits().max_documents()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "documents: ", documents.size(), " documents, over the limit of ",
        config.limits().max_documents(), " per request (max_documents)"));
  }
  RetrieveCall call;
  for (int i = 0; i < documents.size(); ++i) {
    const attnr::v1::Document& d = documents[i];
    RETURN_IF_ERROR(CheckDocument(d, absl::StrCat("documents[", i, "]"), config,
                                  &request_bytes));
    call.documents.push_back({d.id(), d.text()});
  }
  const attnr::v1::RetrieveOptions& o = options;
  RetrieveParams& p = call.params;
  p.top_k = o.top_k() == 0 ? config.limits().default_top_k() : o.top_k();
  if (p.top_k > config.limits().max_top_k()) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.top_k: ", o.top_k(), " is over the maximum of ",
                     config.limits().max_top_k(), " (max_top_k)"));
  }
  p.max_passage_tokens = o.max_passage_tokens() == 0
                             ? config.limits().default_passage_tokens()
                             : o.max_passage_tokens();
  if (p.max_passage_tokens > config.limits().max_passage_tokens()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.max_passage_tokens: ", o.max_passage_tokens(),
        " is over the maximum of ", config.limits().max_passage_tokens(),
        " (max_passage_tokens)"));
  }
  if (o.overlap_sentences() > config.limits().max_overlap_sentences()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.overlap_sentences: ", o.overlap_sentences(),
        " is over the maximum of ", config.limits().max_overlap_sentences(),
        " (max_overlap_sentences)"));
  }
  p.overlap_sentences = o.overlap_sentences();
  if (!attnr::v1::ExplainLevel_IsValid(o.explain_level())) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.explain_level: ", o.explain_level(),
                     " is not an ExplainLevel"));
  }
  const attnr::v1::ExplainLevel level = ResolvedExplainLevel(o);
  p.explain = level >= attnr::v1::EXPLAIN_SCORES;
  p.explain_sentences = level == attnr::v1::EXPLAIN_SENTENCES;
  auto views = FromProtoViews(o.views(), "options.views");
  if (!views.ok()) return views.status();
  p.views = *std::move(views);
  ASSIGN_OR_RETURN(auto weights, FromProtoViewWeights(o.view_weights(),
                                                      "options.view_weights"));
  p.view_weights = std::move(weights);
  p.entity_scope =
      o.has_entity_scope() ? o.entity_scope() : config.views().entity_scope();
  p.grow_ranges =
      o.has_grow_ranges() ? o.grow_ranges() : config.views().grow_ranges();
  p.max_range_tokens = config.limits().max_passage_tokens();
  p.stop = stop;
  return call;
}

}  // namespace

absl::StatusOr<RetrieveCall> ToRetrieveCall(
    const attnr::v1::RetrieveRequest& request, const ServerConfig& config,
    const StopSignal& stop) {
  RETURN_IF_ERROR(CheckQuery(request.query(), config));
  return ToDocumentsCall(request.documents(), request.options(),
                         request.query().size(), config, stop);
}

absl::StatusOr<RetrieveCall> ToPrepareCall(
    const attnr::v1::PrepareRequest& request, const ServerConfig& config,
    const StopSignal& stop) {
  return ToDocumentsCall(request.documents(), request.options(), 0, config,
                         stop);
}

absl::StatusOr<ScoreCall> ToScoreCall(const attnr::v1::ScoreRequest& request,
                                      const ServerConfig& config,
                                      const StopSignal& stop) {
  RETURN_IF_ERROR(CheckQuery(request.query(), config));
  if (request.passages().empty()) {
    return absl::InvalidArgumentError(
        "passages: at least one passage is required");
  }
  if (static_cast<uint32_t>(request.passages_size()) >
      config.limits().max_score_passages()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "passages: ", request.passages_size(), " passages, over the limit of ",
        config.limits().max_score_passages(),
        " per request (max_score_passages)"));
  }
  ScoreCall call;
  uint64_t request_bytes = request.query().size();
  call.has_context = request.has_context();
  if (call.has_context) {
    if (absl::Status s =
            CheckDocument(request.context(), "context", config, &request_bytes);
        !s.ok()) {
      return s;
    }
    call.context = {request.context().id(), request.context().text()};
  }
  for (int i = 0; i < request.passages_size(); ++i) {
    const attnr::v1::ScorePassage& p = request.passages(i);
    ScoreInput in;
    switch (p.source_case()) {
      case attnr::v1::ScorePassage::kText:
        if (p.text().size() > config.limits().max_document_bytes()) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "passages[", i, "].text: ", p.text().size(),
              " bytes, over the limit of ",
              config.limits().max_document_bytes(), " (max_document_bytes)"));
        }
        if (absl::Status s =
                CheckRequestBytes(p.text().size(), config, &request_bytes);
            !s.ok()) {
          return s;
        }
        in.kind = ScoreInput::Kind::kText;
        in.text = p.text();
        break;
      case attnr::v1::ScorePassage::kCharRange:
        in.kind = ScoreInput::Kind::kCharRange;
        in.start = p.char_range().start();
        in.end = p.char_range().end();
        break;
      case attnr::v1::ScorePassage::kByteRange:
        in.kind = ScoreInput::Kind::kByteRange;
        in.start = p.byte_range().start();
        in.end = p.byte_range().end();
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "passages[", i, "]: set one of text, char_range or byte_range"));
    }
    call.inputs.push_back(in);
  }
  auto views = FromProtoViews(request.options().views(), "options.views");
  if (!views.ok()) return views.status();
  call.params.views = *std::move(views);
  ASSIGN_OR_RETURN(auto weights,
                   FromProtoViewWeights(request.options().view_weights(),
                                        "options.view_weights"));
  call.params.view_weights = std::move(weights);
  call.params.explain = request.options().explain();
  call.params.stop = stop;
  return call;
}

void FillRetrieveResponse(const attnr::v1::RetrieveRequest& request,
                          const RetrieveResult& result,
                          const ModelDescription& model,
                          attnr::v1::RetrieveResponse* response) {
  const attnr::v1::RetrieveOptions& o = request.options();
  const bool return_text = !o.has_return_text() || o.return_text();
  uint32_t rank = 0;
  for (const RetrievedPassage& p : result.passages) {
    attnr::v1::Passage* out = response->add_passages();
    out->set_rank(++rank);
    out->set_score(p.detail.fused);
    out->set_document_index(p.document_index);
    const attnr::v1::Document& doc = request.documents(p.document_index);
    out->set_document_id(doc.id());
    ToProto(p.span, out->mutable_range());
    if (return_text) {
      out->set_text(doc.text().substr(p.span.begin_byte, p.span.byte_length()));
    }
    out->set_origin(p.origin == PassageOrigin::kEntityScope
                        ? attnr::v1::Passage::ENTITY_SCOPE
                        : attnr::v1::Passage::QUERY_MATCH);
    for (const std::string& e : p.entities) out->add_entities(e);
    if (ResolvedExplainLevel(o) >= attnr::v1::EXPLAIN_SCORES) {
      ToProto(p.detail, result.views, out->mutable_breakdown());
    }
    out->set_sentences(p.sentences);
  }
  for (const DocumentExplanation& e : result.explanations) {
    attnr::v1::DocumentExplanation* out = response->add_explanations();
    out->set_document_index(e.document_index);
    out->set_note(e.note);
    for (size_t s = 0; s < e.sentences.size(); ++s) {
      attnr::v1::SentenceExplanation* sentence = out->add_sentences();
      ToProto(e.sentences[s], sentence->mutable_range());
      if (s < e.attention.size() && !std::isnan(e.attention[s])) {
        sentence->set_attention(e.attention[s]);
      }
    }
  }
  response->set_model(ModelName(model));
  ToProto(result.usage, 0, response->mutable_usage());
}

void FillScoreResponse(const attnr::v1::ScoreRequest& request,
                       const ScoreResult& result, const ModelDescription& model,
                       attnr::v1::ScoreResponse* response) {
  for (size_t i = 0; i < result.scores.size(); ++i) {
    attnr::v1::PassageScore* out = response->add_scores();
    out->set_index(static_cast<uint32_t>(i));
    out->set_score(result.scores[i].detail.fused);
    if (request.passages(static_cast<int>(i)).source_case() !=
        attnr::v1::ScorePassage::kText) {
      ToProto(result.scores[i].span, out->mutable_range());
    }
    if (request.options().explain()) {
      ToProto(result.scores[i].detail, result.views, out->mutable_breakdown());
    }
  }
  response->set_model(ModelName(model));
  ToProto(result.usage, 0, response->mutable_usage());
}

void FillPrepareResponse(const PrepareResult& result,
                         const ModelDescription& model,
                         attnr::v1::PrepareResponse* response) {
  for (ViewKind v : result.views) response->add_views(ToProtoView(v));
  response->set_model(ModelName(model));
  ToProto(result.usage, 0, response->mutable_usage());
}

void FillModelInfo(const ModelDescription& model, const ServerConfig& config,
                   attnr::v1::ModelInfo* info) {
  info->set_name(model.name);
  info->set_version(model.version);
  info->set_description(model.description);
  for (ViewKind v : model.views) info->add_views(ToProtoView(v));
  for (ViewKind v : model.default_views) {
    info->add_default_views(ToProtoView(v));
  }
  info->set_weights_sha256(model.weights_sha256);
  for (const LoadedModel& m : model.models) {
    attnr::v1::LoadedModel* out = info->add_models();
    out->set_view(ToProtoView(m.view));
    out->set_name(m.name);
    out->set_sha256(m.sha256);
  }
  info->set_neural_budget_tokens(config.views().neural_budget_tokens());
  info->set_neural_candidates(config.views().neural_candidates());
  attnr::v1::Limits* l = info->mutable_limits();
  l->set_max_documents(config.limits().max_documents());
  l->set_max_document_tokens(config.limits().max_document_tokens());
  l->set_max_request_tokens(config.limits().max_request_tokens());
  l->set_max_query_tokens(config.limits().max_query_tokens());
  l->set_max_message_bytes(
      static_cast<uint32_t>(config.transport().max_message_bytes()));
  l->set_default_top_k(config.limits().default_top_k());
  l->set_max_top_k(config.limits().max_top_k());
  l->set_default_passage_tokens(config.limits().default_passage_tokens());
  l->set_max_passage_tokens(config.limits().max_passage_tokens());
  l->set_max_overlap_sentences(config.limits().max_overlap_sentences());
  l->set_max_score_passages(config.limits().max_score_passages());
  l->set_max_document_bytes(
      static_cast<uint32_t>(config.limits().max_document_bytes()));
  l->set_max_request_bytes(static_cast<uint32_t>(
      std::min<uint64_t>(config.limits().max_request_bytes(), UINT32_MAX)));
  l->set_max_query_bytes(config.limits().max_query_bytes());
  l->set_max_document_id_bytes(config.limits().max_document_id_bytes());
  l->set_max_document_sentences(config.limits().max_document_sentences());
}

absl::Status ToApiStatus(const absl::Status& status) {
  const std::optional<FieldRef> field = FieldOf(status);
  if (!field.has_value()) return status;
  absl::Status out(status.code(),
                   absl::StrCat(ApiPath(*field), ": ", status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    if (url != kFieldPayloadUrl) out.SetPayload(url, payload);
  });
  return out;
}

}  // namespace attnr::server

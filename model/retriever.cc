#include "model/retriever.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/entities/entity_scope.h"
#include "model/model_description.h"
#include "model/ranges/context_range.h"
#include "model/ranges/passage_selection.h"
#include "model/request_field.h"
#include "model/runtime/digest.h"
#include "model/runtime/status_macros.h"
#include "model/text/tokenizer.h"
#include "model/text/utf8.h"
#include "model/views/lexical_view.h"

namespace attnr {
namespace {

// Keeps the code, puts `prefix` (the request field) before the message.
absl::Status Annotate(const absl::Status& status, absl::string_view prefix) {
  return absl::Status(status.code(),
                      absl::StrCat(prefix, ": ", status.message()));
}

double MillisSince(absl::Time start) {
  return absl::ToDoubleMilliseconds(absl::Now() - start);
}

// Validates and tokenizes the query against the limits.
absl::StatusOr<std::vector<text::Token>> AnalyzeQuery(
    absl::string_view query, const TextLimits& limits) {
  if (absl::Status s = text::ValidateUtf8(query); !s.ok()) {
    return AtField(s, RequestField::kQuery);
  }
  std::vector<text::Token> tokens = text::Tokenize(query);
  if (tokens.empty()) {
    return AtField(absl::InvalidArgumentError(
                       "contains no words (only punctuation or symbols)"),
                   RequestField::kQuery);
  }
  if (limits.max_query_tokens > 0 && tokens.size() > limits.max_query_tokens) {
    return AtField(absl::ResourceExhaustedError(absl::StrCat(
                       "has ", tokens.size(), " tokens, over the limit of ",
                       limits.max_query_tokens, " (max_query_tokens)")),
                   RequestField::kQuery);
  }
  return tokens;
}

// The views a configuration loads: BM25 always, then the others it names.
absl::StatusOr<std::vector<std::unique_ptr<views::ScoringView>>> LoadViews(
    const RetrieverConfig& config, views::ModelGate* gate) {
  std::vector<std::unique_ptr<views::ScoringView>> all;
  all.push_back(std::make_unique<views::LexicalView>());
  if (config.entity_view) {
    all.push_back(
        std::make_unique<views::EntityView>(config.entity_view_options));
  }
  if (!config.dense_model_path.empty()) {
    auto encoder = bert::BertEncoder::Load(
        config.dense_model_path, config.threads, config.dense_view.device);
    if (!encoder.ok()) return Annotate(encoder.status(), "dense model");
    RETURN_IF_ERROR(runtime::CheckPinnedSha256(
        absl::StrCat("dense model ", config.dense_model_path,
                     "/model.safetensors"),
        (*encoder)->sha256(), config.dense_model_sha256,
        "views.dense.model_sha256"));
    all.push_back(std::make_unique<views::DenseView>(
        *std::move(encoder), config.dense_view, config.cache_bytes / 8, gate));
  }
  if (!config.llm_model_path.empty()) {
    auto llm = views::LlmAttentionView::Load(
        config.llm_model_path, config.llm_model_sha256, config.llm_readout_path,
        config.llm_readout_sha256, config.llm_view, config.threads,
        config.cache_bytes / 2, gate);
    if (!llm.ok()) return Annotate(llm.status(), "LLM view");
    all.push_back(*std::move(llm));
  }
  return all;
}

// RetrieveResult::explanations from the request's sentences.
std::vector<DocumentExplanation> ExplainSentences(
    const views::ViewRequest& request,
    std::vector<std::vector<double>> sentence_attention, bool llm_used) {
  std::vector<DocumentExplanation> out;
  for (size_t d = 0; d < request.sequences.size(); ++d) {
    DocumentExplanation e;
    e.document_index = static_cast<uint32_t>(d);
    for (const text::Sentence& s : *request.sequences[d].sentences) {
      e.sentences.push_back(s.span);
    }
    if (d < sentence_attention.size()) {
      e.attention = std::move(sentence_attention[d]);
    }
    const size_t read = static_cast<size_t>(
        std::count_if(e.attention.begin(), e.attention.end(),
                      [](double a) { return !std::isnan(a); }));
    if (!llm_used) {
      e.note = "the LLM attention view was not among the request's views";
    } else if (read < e.sentences.size()) {
      e.note = absl::StrCat(
          "the LLM read ", read, " of ", e.sentences.size(),
          " sentences (its candidates within its budget; Prepare reads all)");
    }
    out.push_back(std::move(e));
  }
  return out;
}

bool Has(const std::vector<ViewKind>& kinds, ViewKind kind) {
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

}  // namespace

Retriever::Retriever(const RetrieverConfig& config,
                     std::unique_ptr<views::ViewRunner> runner)
    : config_(config),
      runner_(std::move(runner)),
      description_(DescribeModel(config.model_name, config.model_version,
                                 *runner_, config.default_views)),
      analyzer_(config.limits, config.cache_bytes / 4) {}

absl::StatusOr<std::unique_ptr<Retriever>> Retriever::Create(
    const RetrieverConfig& config) {
  auto gate = std::make_unique<views::ModelGate>();
  ASSIGN_OR_RETURN(auto views, LoadViews(config, gate.get()));
  std::optional<views::CalibratedFusion> fusion;
  if (!config.fusion_model_path.empty()) {
    auto loaded = views::CalibratedFusion::Load(config.fusion_model_path,
                                                config.fusion_model_sha256);
    if (!loaded.ok()) return Annotate(loaded.status(), "fusion model");
    fusion = *std::move(loaded);
  }
  views::ViewRunner::Options options;
  options.fusion_weights = config.fusion_weights;
  options.neural_budget_tokens = config.neural_budget_tokens;
  auto runner = std::make_unique<views::ViewRunner>(
      std::move(views), std::move(gate), std::move(fusion), options);
  for (ViewKind v : config.default_views) {
    if (runner->view(v) == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("views.default_views names ", ViewName(v),
                       ", which this configuration does not load"));
    }
  }
  for (const auto& [v, weight] : config.fusion_weights) {
    if (runner->view(v) == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("views.fusion.weights names ", ViewName(v),
                       ", which this configuration does not load"));
    }
  }
  return std::unique_ptr<Retriever>(new Retriever(config, std::move(runner)));
}

absl::StatusOr<std::vector<ViewKind>> Retriever::ResolveViews(
    const std::vector<ViewKind>& requested) const {
  if (requested.empty()) return description_.default_views;
  std::vector<ViewKind> views;
  for (ViewKind v : requested) {
    if (view(v) == nullptr) {
      std::vector<std::string> names;
      for (ViewKind a : description_.views) names.push_back(ViewName(a));
      return AtField(absl::InvalidArgumentError(absl::StrCat(
                         "view ", ViewName(v), " is not served by ",
                         description_.name, "/", description_.version,
                         "; available: ", absl::StrJoin(names, ", "))),
                     RequestField::kViews);
    }
    if (!Has(views, v)) views.push_back(v);
  }
  return views;
}

absl::StatusOr<std::vector<text::Token>> Retriever::PrepareQuery(
    absl::string_view query, const std::vector<ViewKind>& requested,
    std::vector<ViewKind>* views, RetrievalUsage* usage) const {
  ASSIGN_OR_RETURN(std::vector<text::Token> tokens,
                   AnalyzeQuery(query, config_.limits));
  ASSIGN_OR_RETURN(*views, ResolveViews(requested));
  RETURN_IF_ERROR(CheckQueryModelTokens(query, *views));
  usage->query_tokens = static_cast<uint32_t>(tokens.size());
  return tokens;
}

absl::Status Retriever::CheckQueryModelTokens(
    absl::string_view query, const std::vector<ViewKind>& views) const {
  const uint32_t limit = config_.limits.max_query_model_tokens;
  if (limit == 0) return absl::OkStatus();
  for (ViewKind kind : views) {
    const views::ScoringView* v = view(kind);
    if (!v->neural()) continue;
    // No tokenizer makes fewer than one token per 16 bytes of real text:
    // a longer query is refused before it is tokenized.
    const size_t tokens = query.size() > 16 * size_t{limit}
                              ? query.size() / 16
                              : v->QueryModelTokens(query);
    if (tokens > limit) {
      return AtField(
          absl::InvalidArgumentError(absl::StrCat(
              query.size() > 16 * size_t{limit} ? "over " : "", tokens,
              " tokens for the ", InfoOf(kind).cli_name, " view's model (",
              v->model_name(), "), over the limit of ", limit,
              " (max_query_model_tokens)")),
          RequestField::kQuery);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RetrieveResult> Retriever::Retrieve(
    absl::string_view query, const std::vector<DocumentRef>& documents,
    const RetrieveParams& params) const {
  RetrieveResult result;
  absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(
      const std::vector<text::Token> query_tokens,
      PrepareQuery(query, params.views, &result.views, &result.usage));
  ASSIGN_OR_RETURN(
      const views::FusionWeights view_weights,
      runner_->ResolveViewWeights(params.view_weights, result.views));

  // Text stage: every document through the pipeline, limits checked as
  // early as possible so an oversized request costs little.
  views::ViewRequest request;
  request.query_text = query;
  request.query = &query_tokens;
  ASSIGN_OR_RETURN(
      const DocumentAnalyzer::Documents analyzed,
      analyzer_.AnalyzeDocuments(documents, params, &request, &result.usage));
  result.usage.times.text_ms = MillisSince(start);

  // Score stage.
  start = absl::Now();
  request.candidates = config_.neural_candidates;
  std::vector<std::vector<double>> sentence_attention;
  ASSIGN_OR_RETURN(std::vector<ScoreDetail> details,
                   runner_->Score(request, result.views, view_weights,
                                  runner_->BudgetWithin(params.stop),
                                  &result.usage, &sentence_attention));
  if (params.explain_sentences) {
    result.explanations =
        ExplainSentences(request, std::move(sentence_attention),
                         Has(result.views, ViewKind::kLlm));
  }
  runner_->RecordEncodeRate(result.usage);
  RETURN_IF_ERROR(params.stop.Check("score"));

  // Ranges: best first, grown when asked (model/ranges/).
  ranges::SelectionParams selection;
  selection.top_k = params.top_k;
  selection.grow_ranges = params.grow_ranges;
  selection.max_range_tokens = params.max_range_tokens;
  result.passages =
      ranges::SelectPassages(analyzed.passages, &details, selection);
  if (params.entity_scope) {
    std::vector<entities::ScopedDocument> scoped;
    for (size_t d = 0; d < analyzed.analyses.size(); ++d) {
      scoped.push_back(
          {&analyzed.analyses[d]->entities, &analyzed.passages[d]});
    }
    entities::AddScopePassages(query, query_tokens, scoped, details,
                               params.top_k, &result.passages);
  }
  // The encode stage is timed on its own; the score stage is the rest.
  result.usage.times.score_ms =
      MillisSince(start) - result.usage.times.encode_ms;
  return result;
}

std::vector<std::pair<std::string, size_t>> Retriever::CacheBytes() const {
  std::vector<std::pair<std::string, size_t>> out = {
      {"documents", analyzer_.cache_bytes()}};
  for (const auto& v : runner_->views()) {
    if (v->cache_bytes() > 0 || v->neural()) {
      out.emplace_back(InfoOf(v->kind()).cli_name, v->cache_bytes());
    }
  }
  return out;
}

absl::StatusOr<PrepareResult> Retriever::Prepare(
    const std::vector<DocumentRef>& documents,
    const RetrieveParams& params) const {
  PrepareResult result;
  absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(const std::vector<ViewKind> kinds,
                   ResolveViews(params.views));
  for (ViewKind v : kinds) {
    if (view(v)->neural()) result.views.push_back(v);
  }
  views::ViewRequest request;
  // Neural views embed or encode passages, never the query, here: an empty
  // query text costs nothing.
  const std::vector<text::Token> no_query;
  request.query = &no_query;
  ASSIGN_OR_RETURN(
      const DocumentAnalyzer::Documents analyzed,
      analyzer_.AnalyzeDocuments(documents, params, &request, &result.usage));
  result.usage.times.text_ms = MillisSince(start);
  RETURN_IF_ERROR(runner_->Warm(request, result.views, &result.usage));
  return result;
}

absl::StatusOr<ScoreResult> Retriever::Score(
    absl::string_view query, const std::vector<ScoreInput>& inputs,
    const DocumentRef* context, const ScoreParams& params) const {
  ScoreResult result;
  absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(
      const std::vector<text::Token> query_tokens,
      PrepareQuery(query, params.views, &result.views, &result.usage));
  ASSIGN_OR_RETURN(
      const views::FusionWeights view_weights,
      runner_->ResolveViewWeights(params.view_weights, result.views));
  views::ViewRequest request;
  request.query_text = query;
  request.query = &query_tokens;
  request.explain = params.explain;
  request.stop = params.stop;

  std::optional<DocumentAnalyzer::Context> ctx;
  if (context != nullptr) {
    ASSIGN_OR_RETURN(
        ctx, analyzer_.AnalyzeContext(*context, config_.context_passage_tokens,
                                      params.stop, &request, &result.usage));
  }
  // Resolve every input to a unit (and, for ranges, a TextSpan). A passage
  // given as text is a sequence of its own, analyzed for this call only.
  const bool entity_view = Has(result.views, ViewKind::kEntity);
  std::vector<std::unique_ptr<DocumentAnalysis>> own(inputs.size());
  request.units.reserve(inputs.size() +
                        (ctx.has_value() ? ctx->passages.size() : 0));
  result.scores.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ScoreInput& in = inputs[i];
    if (in.kind == ScoreInput::Kind::kText) {
      RETURN_IF_ERROR(analyzer_.AddPassageText(in.text, i, entity_view, &own[i],
                                               &request, &result.usage));
      continue;
    }
    const RequestField field = in.kind == ScoreInput::Kind::kCharRange
                                   ? RequestField::kPassageCharRange
                                   : RequestField::kPassageByteRange;
    if (!ctx.has_value()) {
      return AtField(absl::InvalidArgumentError(
                         "a range needs the context document, which is "
                         "missing"),
                     field, static_cast<int>(i));
    }
    absl::StatusOr<ranges::ContextRange> range =
        ranges::ResolveContextRange(in, ctx->analysis->text);
    if (!range.ok()) return AtField(range.status(), field, static_cast<int>(i));
    result.scores[i].span = range->span;
    request.units.push_back({0, range->token_begin, range->token_end,
                             range->span.begin_byte, range->span.end_byte});
  }
  RETURN_IF_ERROR(analyzer_.CheckRequestTokens(result.usage.document_tokens));
  request.scored = inputs.size();
  // The context's own passages join the collection only for statistics, so
  // a term common in the context weighs little whichever passages are asked.
  if (ctx.has_value()) {
    for (const text::PassageBounds& p : ctx->passages) {
      request.units.push_back(
          {0, p.token_begin, p.token_end, p.span.begin_byte, p.span.end_byte});
    }
  }
  result.usage.passages = static_cast<uint32_t>(inputs.size());
  result.usage.times.text_ms = MillisSince(start);
  RETURN_IF_ERROR(params.stop.Check("text"));

  start = absl::Now();
  // A reranker judges every passage it is given: no budget.
  ASSIGN_OR_RETURN(
      std::vector<ScoreDetail> details,
      runner_->Score(request, result.views, view_weights, /*budget_tokens=*/0,
                     &result.usage, /*sentence_attention=*/nullptr,
                     views::CalibratedFusion::Units::kCandidates));
  for (size_t i = 0; i < inputs.size(); ++i) {
    result.scores[i].detail = std::move(details[i]);
  }
  result.usage.times.score_ms =
      MillisSince(start) - result.usage.times.encode_ms;
  return result;
}

}  // namespace attnr

#include "model/retriever.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/entities/entity_scope.h"
#include "model/ranges/range_growth.h"
#include "model/runtime/digest.h"
#include "model/text/analyzed_document.h"
#include "model/text/passage_builder.h"
#include "model/text/tokenizer.h"
#include "model/text/utf8.h"
#include "model/views/entity_view.h"
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
    return Annotate(s, "query");
  }
  std::vector<text::Token> tokens = text::Tokenize(query);
  if (tokens.empty()) {
    return absl::InvalidArgumentError(
        "query: contains no words (only punctuation or symbols)");
  }
  if (limits.max_query_tokens > 0 && tokens.size() > limits.max_query_tokens) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "query: has ", tokens.size(), " tokens, over the limit of ",
        limits.max_query_tokens, " (max_query_tokens)"));
  }
  return tokens;
}

absl::Status CheckRequestTokens(uint64_t tokens, const TextLimits& limits) {
  if (limits.max_request_tokens > 0 && tokens > limits.max_request_tokens) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "documents: ", tokens, " tokens in all, over the limit of ",
        limits.max_request_tokens, " per request (max_request_tokens)"));
  }
  return absl::OkStatus();
}

bool Overlaps(const RetrievedPassage& a, const RetrievedPassage& b) {
  return a.document_index == b.document_index &&
         a.span.begin_byte < b.span.end_byte &&
         b.span.begin_byte < a.span.end_byte;
}

}  // namespace

Retriever::Retriever(const RetrieverConfig& config,
                     std::vector<std::unique_ptr<views::ScoringView>> views,
                     std::unique_ptr<views::ModelGate> gate,
                     std::optional<views::CalibratedFusion> fusion)
    : config_(config),
      calibrated_fusion_(std::move(fusion)),
      gate_(std::move(gate)),
      views_(std::move(views)),
      analyses_(config.cache_bytes / 4) {
  std::vector<std::string> parts = {
      "In-document BM25 over sentence-packed passages (Snowball English "
      "stemmer, stopwords removed)"};
  for (const auto& v : views_) {
    description_.views.push_back(v->kind());
    if (!v->neural()) continue;
    description_.models.push_back(
        {v->kind(), v->model_name(), v->model_sha256()});
  }
  if (view(ViewKind::kEntity) != nullptr) {
    parts.push_back(
        "entity weighting (the query's rare entities, from each document's "
        "entity graph)");
  }
  const views::ScoringView* dense = view(ViewKind::kDense);
  if (dense != nullptr) {
    parts.push_back(absl::StrCat("pretrained sentence encoder ",
                                 dense->model_name(),
                                 " (cosine of query and passage embeddings)"));
  }
  if (const views::ScoringView* llm = view(ViewKind::kLlm); llm != nullptr) {
    parts.push_back(absl::StrCat(
        "pretrained decoder LLM ", llm->model_name(),
        " reading the best candidates, its question-to-passage attention "
        "combined by a trained read-out (AttentionRetriever)"));
    // The weights this service trained: the LLM view's read-out.
    description_.weights_sha256 =
        static_cast<const views::LlmAttentionView*>(llm)
            ->readout()
            .PayloadSha256();
  }
  description_.name = "attnr";
  description_.version = "0.4.0";
  if (dense == nullptr && view(ViewKind::kLlm) == nullptr) {
    description_.name = "attnr-lexical";
    description_.version = "0.1.0";
    parts.push_back("no model loaded");
  }
  description_.description = absl::StrCat(
      absl::StrJoin(parts, "; "),
      calibrated_fusion_.has_value()
          ? absl::StrCat(
                ". The default views are fused by ",
                calibrated_fusion_->Describe(),
                ", chosen by cross-validation on real questions and "
                "calibrated (a passage's score estimates its probability of "
                "answering the question among the request's passages; fusion "
                "model sha256 ",
                calibrated_fusion_->sha256().substr(0, 12),
                "...); other sets of views by weighted reciprocal rank.")
          : ". Views are fused by weighted reciprocal rank.");
  description_.default_views =
      config.default_views.empty() ? description_.views : config.default_views;
}

const views::ScoringView* Retriever::view(ViewKind kind) const {
  for (const auto& v : views_) {
    if (v->kind() == kind) return v.get();
  }
  return nullptr;
}

absl::StatusOr<std::unique_ptr<Retriever>> Retriever::Create(
    const RetrieverConfig& config) {
  auto gate = std::make_unique<views::ModelGate>();
  std::vector<std::unique_ptr<views::ScoringView>> all;
  all.push_back(std::make_unique<views::LexicalView>());
  if (config.entity_view) {
    all.push_back(
        std::make_unique<views::EntityView>(config.entity_view_options));
  }
  if (!config.dense_model_path.empty()) {
    auto encoder =
        bert::BertEncoder::Load(config.dense_model_path, config.threads);
    if (!encoder.ok()) {
      return Annotate(encoder.status(), "dense model");
    }
    if (!config.dense_model_sha256.empty() &&
        (*encoder)->sha256() != config.dense_model_sha256) {
      return absl::FailedPreconditionError(
          absl::StrCat("dense model: ", config.dense_model_path,
                       "/model.safetensors has SHA-256 ", (*encoder)->sha256(),
                       ", the configuration pins ", config.dense_model_sha256,
                       " (dense_model_sha256): a different or damaged model"));
    }
    all.push_back(std::make_unique<views::DenseView>(
        *std::move(encoder), config.dense_view, config.cache_bytes / 8,
        gate.get()));
  }
  if (!config.llm_model_path.empty()) {
    auto llm = views::LlmAttentionView::Load(
        config.llm_model_path, config.llm_model_sha256, config.llm_readout_path,
        config.llm_readout_sha256, config.llm_view, config.threads,
        config.cache_bytes / 2, gate.get());
    if (!llm.ok()) return Annotate(llm.status(), "LLM view");
    all.push_back(*std::move(llm));
  }
  std::optional<views::CalibratedFusion> fusion;
  if (!config.fusion_model_path.empty()) {
    auto loaded = views::CalibratedFusion::Load(config.fusion_model_path,
                                             config.fusion_model_sha256);
    if (!loaded.ok()) return Annotate(loaded.status(), "fusion model");
    fusion = *std::move(loaded);
  }
  std::unique_ptr<Retriever> retriever(new Retriever(
      config, std::move(all), std::move(gate), std::move(fusion)));
  for (ViewKind v : config.default_views) {
    if (retriever->view(v) == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("default_views names ", ViewName(v),
                       ", which this configuration does not load"));
    }
  }
  for (const auto& [v, weight] : config.fusion_weights) {
    if (retriever->view(v) == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("fusion_weights names ", ViewName(v),
                       ", which this configuration does not load"));
    }
  }
  return retriever;
}

absl::StatusOr<std::shared_ptr<const DocumentAnalysis>> Retriever::Analyze(
    absl::string_view text, const std::string& digest,
    const text::AnalyzeOptions& options, uint64_t max_tokens,
    const StopSignal& stop) const {
  // The analysis depends on the text and on the options (sentence cap,
  // limits), so both make the key.
  const std::string key =
      absl::StrCat(digest, ":", options.max_sentence_tokens, ":",
                   options.max_sentence_chars, ":", options.max_tokens, ":",
                   options.max_sentences);
  text::AnalyzeOptions capped = options;
  if (max_tokens > 0 &&
      (options.max_tokens == 0 || max_tokens < options.max_tokens)) {
    capped.max_tokens = static_cast<uint32_t>(max_tokens);
    capped.max_tokens_name = "max_request_tokens";
  }
  return analyses_.GetOrCreate(
      key,
      [&]() -> absl::StatusOr<std::shared_ptr<const DocumentAnalysis>> {
        auto doc = text::AnalyzeDocument(text, capped, stop);
        if (!doc.ok()) return doc.status();
        return std::make_shared<const DocumentAnalysis>(*std::move(doc), text);
      },
      stop);
}

absl::StatusOr<std::vector<ScoreDetail>> Retriever::ScoreUnits(
    views::ViewRequest& request, const std::vector<ViewKind>& kinds,
    const views::FusionWeights& view_weights, uint64_t budget_tokens,
    RetrievalUsage* usage,
    std::vector<std::vector<double>>* sentence_attention,
    views::CalibratedFusion::Units units) const {
  std::vector<ScoreDetail> details(request.scored);
  for (ScoreDetail& d : details) {
    for (ViewKind v : kinds) d.views.push_back({v, 0, {}});
  }
  auto put = [&](size_t slot, views::ViewScores scores) {
    if (sentence_attention != nullptr && !scores.sentence_attention.empty()) {
      *sentence_attention = std::move(scores.sentence_attention);
    }
    for (size_t u = 0; u < request.scored; ++u) {
      details[u].views[slot].score = scores.scores[u];
      details[u].views[slot].judged =
          scores.judged.empty() || scores.judged[u] != 0;
      if (request.explain) {
        details[u].views[slot].reasons = std::move(scores.reasons[u]);
      }
    }
  };
  // Views that need no network first; their fused order tells the neural
  // views where to spend a budget.
  std::vector<ViewKind> cheap;
  bool any_neural = false;
  for (size_t slot = 0; slot < kinds.size(); ++slot) {
    const views::ScoringView* v = view(kinds[slot]);
    if (v->neural()) {
      any_neural = true;
      continue;
    }
    views::ViewUsage spent;
    auto scores = v->Score(request, nullptr, &spent);
    if (!scores.ok()) return scores.status();
    put(slot, *std::move(scores));
    cheap.push_back(kinds[slot]);
  }
  if (!any_neural) {
    FuseAll(kinds, view_weights, &details, units);
    return details;
  }
  if (!cheap.empty()) {
    views::Fuse(cheap, config_.fusion_weights, &details);
    request.priority = views::FusedOrder(details);
  } else if (budget_tokens > 0 ||
             request.stop.deadline() != absl::InfiniteFuture()) {
    // A budget (or the time to a deadline, which paces the neural views) is
    // spent on the passages BM25 ranks highest even when the request does
    // not fuse BM25 (document order would spend it on the document's first
    // passages).
    views::ViewUsage spent;
    auto lexical = view(ViewKind::kLexical)->Score(request, nullptr, &spent);
    if (!lexical.ok()) return lexical.status();
    std::vector<ScoreDetail> order(request.scored);
    for (size_t u = 0; u < request.scored; ++u) {
      order[u].views.push_back({ViewKind::kLexical, lexical->scores[u], {}});
    }
    views::Fuse({ViewKind::kLexical}, config_.fusion_weights, &order);
    request.priority = views::FusedOrder(order);
  }
  // Neural views cheapest first (the registry's order: the sentence
  // encoder before the LLM); each later one spends its budget in the order
  // of everything judged before it.
  std::vector<size_t> neural_slots;
  for (const ViewInfo& info : AllViews()) {
    for (size_t slot = 0; slot < kinds.size(); ++slot) {
      if (kinds[slot] == info.kind && view(kinds[slot])->neural()) {
        neural_slots.push_back(slot);
      }
    }
  }
  std::vector<ViewKind> done = cheap;
  bool all_hit = true;
  for (size_t slot : neural_slots) {
    const views::ScoringView* v = view(kinds[slot]);
    if (done.size() > cheap.size()) {
      views::Fuse(done, config_.fusion_weights, &details);
      request.priority = views::FusedOrder(details);
    }
    views::ViewUsage spent;
    auto prepared = v->Prepare(request, budget_tokens, &spent);
    if (!prepared.ok()) return prepared.status();
    auto scores = v->Score(request, prepared->get(), &spent);
    if (!scores.ok()) return scores.status();
    put(slot, *std::move(scores));
    all_hit &= spent.cache_hit;
    usage->encoded_tokens += spent.encoded_tokens;
    usage->unjudged_passages += spent.unjudged_units;
    usage->oversized_passages += spent.oversized_units;
    usage->times.encode_ms += spent.prepare_ms;
    done.push_back(kinds[slot]);
  }
  usage->cache_hit = all_hit;
  FuseAll(kinds, view_weights, &details, units);
  return details;
}

void Retriever::FuseAll(const std::vector<ViewKind>& kinds,
                        const views::FusionWeights& view_weights,
                        std::vector<ScoreDetail>* details,
                        views::CalibratedFusion::Units units) const {
  if (calibrated_fusion_.has_value() && calibrated_fusion_->Covers(kinds)) {
    calibrated_fusion_->Fuse(details, units, view_weights);
    return;
  }
  views::FusionWeights weights = config_.fusion_weights;
  for (const auto& [v, w] : view_weights) weights[v] = w;
  views::Fuse(kinds, weights, details);
}

absl::StatusOr<views::FusionWeights> Retriever::ResolveViewWeights(
    const std::vector<std::pair<ViewKind, double>>& requested,
    const std::vector<ViewKind>& kinds) const {
  views::FusionWeights out;
  bool any_positive = false;
  for (const auto& [v, w] : requested) {
    if (std::find(kinds.begin(), kinds.end(), v) == kinds.end()) {
      std::vector<std::string> names;
      for (ViewKind k : kinds) names.push_back(InfoOf(k).cli_name);
      return absl::InvalidArgumentError(absl::StrCat(
          "options.view_weights: names ", InfoOf(v).cli_name,
          ", which this request does not fuse (its views: ",
          absl::StrJoin(names, ", "), ")"));
    }
    out[v] = w;
    any_positive |= w > 0;
  }
  if (!out.empty() && out.size() == kinds.size() && !any_positive) {
    return absl::InvalidArgumentError(
        "options.view_weights: every fused view would weigh 0");
  }
  return out;
}

absl::StatusOr<std::vector<ViewKind>> Retriever::ResolveViews(
    const std::vector<ViewKind>& requested, absl::string_view field) const {
  if (requested.empty()) return description_.default_views;
  std::vector<ViewKind> views;
  for (ViewKind v : requested) {
    if (view(v) == nullptr) {
      std::vector<std::string> names;
      for (ViewKind a : description_.views) names.push_back(ViewName(a));
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": view ", ViewName(v), " is not served by ",
                       description_.name, "/", description_.version,
                       "; available: ", absl::StrJoin(names, ", ")));
    }
    if (std::find(views.begin(), views.end(), v) == views.end()) {
      views.push_back(v);
    }
  }
  return views;
}

absl::StatusOr<std::vector<text::Token>> Retriever::PrepareQuery(
    absl::string_view query, const std::vector<ViewKind>& requested,
    std::vector<ViewKind>* views, RetrievalUsage* usage) const {
  auto tokens = AnalyzeQuery(query, config_.limits);
  if (!tokens.ok()) return tokens.status();
  auto resolved = ResolveViews(requested, "options.views");
  if (!resolved.ok()) return resolved.status();
  *views = *std::move(resolved);
  if (absl::Status s = CheckQueryModelTokens(query, *views); !s.ok()) return s;
  usage->query_tokens = static_cast<uint32_t>(tokens->size());
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
      return absl::InvalidArgumentError(absl::StrCat(
          "query: ", query.size() > 16 * size_t{limit} ? "over " : "",
          tokens, " tokens for the ", InfoOf(kind).cli_name, " view's model (",
          v->model_name(), "), over the limit of ", limit,
          " (max_query_model_tokens)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Retriever::AnalyzedRequest> Retriever::AnalyzeDocuments(
    const std::vector<DocumentRef>& documents, const RetrieveParams& params,
    views::ViewRequest* request, RetrievalUsage* usage) const {
  text::AnalyzeOptions analyze;
  analyze.max_sentence_tokens = params.max_passage_tokens;
  analyze.max_sentence_chars = text::MaxPassageChars(params.max_passage_tokens);
  analyze.max_tokens = config_.limits.max_document_tokens;
  analyze.max_sentences = config_.limits.max_document_sentences;
  text::PassageOptions passage_options;
  passage_options.max_tokens = params.max_passage_tokens;
  passage_options.max_chars = analyze.max_sentence_chars;
  passage_options.overlap_sentences = params.overlap_sentences;
  AnalyzedRequest out;
  out.docs.reserve(documents.size());
  for (size_t d = 0; d < documents.size(); ++d) {
    std::string digest = runtime::Sha256Hex(documents[d].text);
    // What is left of the request's token budget caps this document's
    // count too, so a request over budget stops at the budget.
    const uint64_t budget = config_.limits.max_request_tokens;
    const uint64_t left =
        budget == 0 ? 0  // No request limit.
                    : std::max<uint64_t>(budget - usage->document_tokens, 1);
    auto doc = Analyze(documents[d].text, digest, analyze, left, params.stop);
    if (!doc.ok()) {
      if (absl::IsResourceExhausted(doc.status()) &&
          absl::StrContains(doc.status().message(), "(max_request_tokens)")) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "documents: more than ", config_.limits.max_request_tokens,
            " tokens in all, over the limit per request (max_request_tokens)"));
      }
      return Annotate(doc.status(), absl::StrCat("documents[", d, "]"));
    }
    const DocumentAnalysis& analysis = **doc;
    usage->document_tokens += analysis.text.tokens.size();
    if (absl::Status s =
            CheckRequestTokens(usage->document_tokens, config_.limits);
        !s.ok()) {
      return s;
    }
    usage->sentences += static_cast<uint32_t>(analysis.text.sentences.size());
    out.passages.push_back(text::BuildPassages(analysis.text, passage_options));
    usage->passages += static_cast<uint32_t>(out.passages.back().size());
    request->sequences.push_back(
        {std::move(digest), documents[d].text, &analysis.text.tokens,
         &analysis.terms, &analysis.text.sentences, &analysis.entities});
    for (uint32_t p = 0; p < out.passages.back().size(); ++p) {
      const text::PassageBounds& bounds = out.passages.back()[p];
      request->units.push_back({static_cast<uint32_t>(d), bounds.token_begin,
                                bounds.token_end, bounds.span.begin_byte,
                                bounds.span.end_byte});
      out.origin.emplace_back(static_cast<uint32_t>(d), p);
    }
    out.docs.push_back(*std::move(doc));
    if (absl::Status s = params.stop.Check("text"); !s.ok()) return s;
  }
  request->scored = request->units.size();
  request->stop = params.stop;
  request->explain = params.explain;
  request->explain_sentences = params.explain_sentences;
  return out;
}

uint64_t Retriever::BudgetWithin(const StopSignal& stop) const {
  const uint64_t configured = config_.neural_budget_tokens;
  const double rate = encode_rate_.load(std::memory_order_relaxed);
  if (stop.deadline() == absl::InfiniteFuture() || rate <= 0) {
    return configured;
  }
  const double left_ms =
      absl::ToDoubleMilliseconds(stop.deadline() - absl::Now());
  const uint64_t fits =
      static_cast<uint64_t>(std::max(1.0, 0.5 * left_ms * rate));
  return configured == 0 ? fits : std::min(configured, fits);
}

void Retriever::RecordEncodeRate(const RetrievalUsage& usage) const {
  // Only calls that encoded enough to measure (a query alone is noise).
  if (usage.encoded_tokens < 256 || usage.times.encode_ms <= 0) return;
  const double rate = usage.encoded_tokens / usage.times.encode_ms;
  double old = encode_rate_.load(std::memory_order_relaxed);
  // Waits for the model under load count: the rate is what a call gets.
  while (!encode_rate_.compare_exchange_weak(
      old, old == 0 ? rate : 0.7 * old + 0.3 * rate)) {
  }
}

absl::StatusOr<RetrieveResult> Retriever::Retrieve(
    absl::string_view query, const std::vector<DocumentRef>& documents,
    const RetrieveParams& params) const {
  RetrieveResult result;
  absl::Time start = absl::Now();
  const auto query_tokens =
      PrepareQuery(query, params.views, &result.views, &result.usage);
  if (!query_tokens.ok()) return query_tokens.status();
  const auto view_weights =
      ResolveViewWeights(params.view_weights, result.views);
  if (!view_weights.ok()) return view_weights.status();

  // Text stage: every document through the pipeline, limits checked as
  // early as possible so an oversized request costs little.
  views::ViewRequest request;
  request.query_text = query;
  request.query = &*query_tokens;
  auto analyzed = AnalyzeDocuments(documents, params, &request, &result.usage);
  if (!analyzed.ok()) return analyzed.status();
  result.usage.times.text_ms = MillisSince(start);

  // Score stage.
  start = absl::Now();
  request.candidates = config_.neural_candidates;
  std::vector<std::vector<double>> sentence_attention;
  auto scored = ScoreUnits(request, result.views, *view_weights,
                           BudgetWithin(params.stop), &result.usage,
                           &sentence_attention);
  if (!scored.ok()) return scored.status();
  if (params.explain_sentences) {
    result.explanations =
        ExplainSentences(request, std::move(sentence_attention),
                         std::find(result.views.begin(), result.views.end(),
                                   ViewKind::kLlm) != result.views.end());
  }
  RecordEncodeRate(result.usage);
  std::vector<ScoreDetail>& details = *scored;
  if (absl::Status s = params.stop.Check("score"); !s.ok()) return s;

  // Rank: best first; ties keep document order so answers are stable.
  // Overlapping passages (from overlap_sentences) would repeat evidence:
  // keep the best of each overlapping group. Passages with no evidence at
  // all (fused score 0) are not returned, so fewer than top_k can come back.
  // With grow_ranges a passage takes in its best-ranked neighbours, which
  // are then not returned on their own.
  const std::vector<uint32_t> order = views::FusedOrder(details);
  const ranges::GrowthOptions growth = [&] {
    ranges::GrowthOptions g;
    g.max_tokens = params.max_range_tokens;
    return g;
  }();
  std::vector<bool> absorbed(details.size(), false);
  std::vector<bool> in_window(details.size(), false);
  for (size_t r = 0; r < order.size() && r < growth.rank_window; ++r) {
    in_window[order[r]] = details[order[r]].fused > 0;
  }
  for (uint32_t u : order) {
    if (result.passages.size() >= params.top_k) break;
    if (details[u].fused <= 0) break;
    if (absorbed[u]) continue;
    absorbed[u] = true;
    RetrievedPassage p;
    p.document_index = analyzed->origin[u].first;
    const auto& passages = analyzed->passages[p.document_index];
    const uint32_t local = analyzed->origin[u].second;
    uint32_t lo = local;
    uint32_t hi = local;
    if (params.grow_ranges) {
      const uint32_t first = u - local;  // The document's first unit.
      std::vector<bool> eligible(passages.size());
      for (uint32_t q = 0; q < passages.size(); ++q) {
        eligible[q] = in_window[first + q] && !absorbed[first + q];
      }
      std::tie(lo, hi) = ranges::GrowRange(passages, local, eligible, growth);
      for (uint32_t q = lo; q <= hi; ++q) absorbed[first + q] = true;
    }
    p.span = {passages[lo].span.begin_byte, passages[hi].span.end_byte,
              passages[lo].span.begin_char, passages[hi].span.end_char};
    p.sentences = passages[hi].sentence_end - passages[lo].sentence_begin;
    p.origin = PassageOrigin::kQueryMatch;
    p.detail = std::move(details[u]);
    const bool overlaps =
        std::any_of(result.passages.begin(), result.passages.end(),
                    [&](const RetrievedPassage& q) { return Overlaps(p, q); });
    if (!overlaps) result.passages.push_back(std::move(p));
  }
  if (params.entity_scope) {
    AddEntityScope(query, *query_tokens, *analyzed, details, params.top_k,
                   &result.passages);
  }
  // The encode stage is timed on its own; the score stage is the rest.
  result.usage.times.score_ms =
      MillisSince(start) - result.usage.times.encode_ms;
  return result;
}

std::vector<std::pair<std::string, size_t>> Retriever::CacheBytes() const {
  std::vector<std::pair<std::string, size_t>> out = {
      {"documents", analyses_.bytes()}};
  for (const auto& v : views_) {
    if (v->cache_bytes() > 0 || v->neural()) {
      out.emplace_back(InfoOf(v->kind()).cli_name, v->cache_bytes());
    }
  }
  return out;
}

std::vector<DocumentExplanation> Retriever::ExplainSentences(
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

void Retriever::AddEntityScope(absl::string_view query,
                               const std::vector<text::Token>& query_tokens,
                               const AnalyzedRequest& analyzed,
                               const std::vector<ScoreDetail>& details,
                               uint32_t top_k,
                               std::vector<RetrievedPassage>* ranked) const {
  // The chains start from the best few matches: further down the list a
  // match is too weak to vouch for what it links to.
  constexpr size_t kSeedPassages = 3;
  std::vector<uint32_t> first_unit(analyzed.docs.size() + 1, 0);
  for (const auto& [d, p] : analyzed.origin) ++first_unit[d + 1];
  for (size_t d = 1; d < first_unit.size(); ++d) {
    first_unit[d] += first_unit[d - 1];
  }
  const size_t seeds_n = std::min(kSeedPassages, ranked->size());
  // Per seed passage, what its chains reached (inserted after it), and the
  // ranked passages moved there.
  std::vector<std::vector<RetrievedPassage>> after(seeds_n);
  std::vector<bool> moved(ranked->size(), false);
  for (uint32_t d = 0; d < analyzed.docs.size(); ++d) {
    const entities::EntityGraph& graph = analyzed.docs[d]->entities;
    const std::vector<uint32_t> query_entities =
        entities::QueryEntities(query, query_tokens, graph);
    if (query_entities.empty()) continue;
    std::vector<uint32_t> seeds;
    std::vector<size_t> seed_rank;  // Per seed sentence, its passage's rank.
    for (size_t r = 0; r < seeds_n; ++r) {
      const RetrievedPassage& p = (*ranked)[r];
      if (p.document_index != d) continue;
      // Every passage the returned range holds (one, or more when it grew).
      for (const text::PassageBounds& b : analyzed.passages[d]) {
        if (b.span.begin_byte < p.span.begin_byte ||
            b.span.end_byte > p.span.end_byte) {
          continue;
        }
        for (uint32_t s = b.sentence_begin; s < b.sentence_end; ++s) {
          if (std::find(seeds.begin(), seeds.end(), s) != seeds.end()) continue;
          seeds.push_back(s);
          seed_rank.push_back(r);
        }
      }
    }
    const std::vector<entities::ScopeHit> hits =
        entities::FollowBridges(graph, query_entities, seeds, {});
    for (const entities::ScopeHit& hit : hits) {
      // The first passage holding the sentence.
      const auto& passages = analyzed.passages[d];
      auto it = std::find_if(passages.begin(), passages.end(),
                             [&](const text::PassageBounds& b) {
                               return b.sentence_begin <= hit.sentence &&
                                      hit.sentence < b.sentence_end;
                             });
      if (it == passages.end()) continue;
      RetrievedPassage p;
      p.document_index = d;
      p.span = it->span;
      p.sentences = it->sentence_end - it->sentence_begin;
      p.origin = PassageOrigin::kEntityScope;
      for (uint32_t e : hit.via) p.entities.push_back(graph.display(e));
      const auto overlaps = [&](const RetrievedPassage& q) {
        return Overlaps(p, q);
      };
      bool placed = false;
      for (const auto& list : after) {
        placed |= std::any_of(list.begin(), list.end(), overlaps);
      }
      if (placed) continue;
      // After the seed passage whose sentence the chain started from.
      const size_t seed =
          seed_rank[std::find(seeds.begin(), seeds.end(), hit.seed) -
                    seeds.begin()];
      auto shown = std::find_if(ranked->begin(), ranked->end(), overlaps);
      if (shown != ranked->end()) {
        // A match ranked below its seed moves up to follow it (keeping its
        // own origin); one above it stays.
        const size_t at = shown - ranked->begin();
        if (at <= seed || moved[at]) continue;
        moved[at] = true;
        RetrievedPassage up = *shown;
        up.entities = p.entities;
        after[seed].push_back(std::move(up));
        continue;
      }
      p.detail = details[first_unit[d] + (it - passages.begin())];
      after[seed].push_back(std::move(p));
    }
  }
  std::vector<RetrievedPassage> out;
  out.reserve(ranked->size());
  for (size_t r = 0; r < ranked->size(); ++r) {
    if (!moved[r]) out.push_back(std::move((*ranked)[r]));
    if (r < after.size()) {
      for (RetrievedPassage& p : after[r]) out.push_back(std::move(p));
    }
  }
  if (out.size() > top_k) out.resize(top_k);
  *ranked = std::move(out);
}

absl::StatusOr<PrepareResult> Retriever::Prepare(
    const std::vector<DocumentRef>& documents,
    const RetrieveParams& params) const {
  PrepareResult result;
  absl::Time start = absl::Now();
  auto kinds = ResolveViews(params.views, "options.views");
  if (!kinds.ok()) return kinds.status();
  for (ViewKind v : *kinds) {
    if (view(v)->neural()) result.views.push_back(v);
  }
  views::ViewRequest request;
  // Neural views embed or encode passages, never the query, here: an empty
  // query text costs nothing.
  const std::vector<text::Token> no_query;
  request.query = &no_query;
  auto analyzed = AnalyzeDocuments(documents, params, &request, &result.usage);
  if (!analyzed.ok()) return analyzed.status();
  result.usage.times.text_ms = MillisSince(start);
  bool all_hit = true;
  for (ViewKind v : result.views) {
    views::ViewUsage spent;
    auto prepared = view(v)->Prepare(request, /*budget_tokens=*/0, &spent);
    if (!prepared.ok()) return prepared.status();
    all_hit &= spent.cache_hit;
    result.usage.encoded_tokens += spent.encoded_tokens;
    // Left by the deadline's pacing (or over a window): the warm-up is
    // partial, and says so.
    result.usage.unjudged_passages += spent.unjudged_units;
    result.usage.oversized_passages += spent.oversized_units;
    result.usage.times.encode_ms += spent.prepare_ms;
  }
  result.usage.cache_hit = all_hit;
  return result;
}

absl::StatusOr<ScoreResult> Retriever::Score(
    absl::string_view query, const std::vector<ScoreInput>& inputs,
    const DocumentRef* context, const ScoreParams& params) const {
  ScoreResult result;
  absl::Time start = absl::Now();
  const auto query_tokens =
      PrepareQuery(query, params.views, &result.views, &result.usage);
  if (!query_tokens.ok()) return query_tokens.status();
  const auto view_weights =
      ResolveViewWeights(params.view_weights, result.views);
  if (!view_weights.ok()) return view_weights.status();
  views::ViewRequest request;
  request.query_text = query;
  request.query = &*query_tokens;
  request.explain = params.explain;
  request.stop = params.stop;

  std::shared_ptr<const DocumentAnalysis> ctx;
  std::vector<text::PassageBounds> ctx_passages;
  if (context != nullptr) {
    text::AnalyzeOptions analyze;
    analyze.max_sentence_tokens = config_.context_passage_tokens;
    analyze.max_sentence_chars =
        text::MaxPassageChars(config_.context_passage_tokens);
    analyze.max_tokens = config_.limits.max_document_tokens;
    analyze.max_sentences = config_.limits.max_document_sentences;
    std::string digest = runtime::Sha256Hex(context->text);
    auto doc = Analyze(context->text, digest, analyze,
                       config_.limits.max_request_tokens, params.stop);
    if (!doc.ok()) return Annotate(doc.status(), "context.text");
    ctx = *std::move(doc);
    text::PassageOptions passage_options;
    passage_options.max_tokens = config_.context_passage_tokens;
    passage_options.max_chars = analyze.max_sentence_chars;
    ctx_passages = text::BuildPassages(ctx->text, passage_options);
    result.usage.document_tokens += ctx->text.tokens.size();
    result.usage.sentences += static_cast<uint32_t>(ctx->text.sentences.size());
    request.sequences.push_back({std::move(digest), context->text,
                                 &ctx->text.tokens, &ctx->terms,
                                 &ctx->text.sentences, &ctx->entities});
  }

  const bool entity_view = std::find(result.views.begin(), result.views.end(),
                                     ViewKind::kEntity) != result.views.end();
  // Resolve every input to a unit (and, for ranges, a TextSpan). A passage
  // given as text is a sequence of its own, analyzed for this call only.
  std::vector<std::unique_ptr<DocumentAnalysis>> own(inputs.size());
  request.units.reserve(inputs.size() + ctx_passages.size());
  result.scores.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ScoreInput& in = inputs[i];
    if (in.kind == ScoreInput::Kind::kText) {
      if (absl::Status s = text::ValidateUtf8(in.text); !s.ok()) {
        return Annotate(s, absl::StrCat("passages[", i, "].text"));
      }
      // Counted (stopping at the budget) before any token is stored.
      if (const uint64_t limit = config_.limits.max_request_tokens;
          limit > 0 &&
          result.usage.document_tokens + text::CountTokens(in.text, limit + 1) >
              limit) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "passages[", i, "].text: brings the request over its limit of ",
            limit, " tokens (max_request_tokens)"));
      }
      // Sentences and entities only when the entity view will read them: a
      // reranking call may carry a thousand passages.
      text::AnalyzedDocument analyzed;
      if (entity_view) {
        auto full = text::AnalyzeDocument(in.text, {});
        if (!full.ok()) {
          return Annotate(full.status(),
                          absl::StrCat("passages[", i, "].text"));
        }
        analyzed = *std::move(full);
      } else {
        analyzed.tokens = text::Tokenize(in.text);
      }
      own[i] = std::make_unique<DocumentAnalysis>(std::move(analyzed), in.text);
      const auto& tokens = own[i]->text.tokens;
      result.usage.document_tokens += tokens.size();
      request.units.push_back({static_cast<uint32_t>(request.sequences.size()),
                               0, static_cast<uint32_t>(tokens.size()), 0,
                               static_cast<uint32_t>(in.text.size())});
      request.sequences.push_back({runtime::Sha256Hex(in.text), in.text,
                                   &tokens, &own[i]->terms,
                                   &own[i]->text.sentences, &own[i]->entities});
      continue;
    }
    const bool chars = in.kind == ScoreInput::Kind::kCharRange;
    const std::string field =
        absl::StrCat("passages[", i, chars ? "].char_range" : "].byte_range");
    if (ctx == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": a range needs the context document, which is missing"));
    }
    const text::Utf8Index& index = *ctx->text.index;
    const uint32_t limit = chars ? index.char_count() : index.byte_count();
    if (in.start > in.end || in.end > limit) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": [", in.start, ", ", in.end, ") is not a range within the ",
          limit, chars ? " code points" : " bytes", " of the context"));
    }
    if (!chars) {
      for (uint32_t offset : {in.start, in.end}) {
        if (!index.IsBoundary(offset)) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ": byte offset ", offset,
                           " falls inside a UTF-8 character of the context"));
        }
      }
    }
    text::TextSpan span;
    if (chars) {
      span = {index.ByteAt(in.start), index.ByteAt(in.end), in.start, in.end};
    } else {
      span = {in.start, in.end, index.CharAt(in.start), index.CharAt(in.end)};
    }
    result.scores[i].span = span;
    // Tokens wholly inside the range.
    const auto& toks = ctx->text.tokens;
    auto first = std::lower_bound(
        toks.begin(), toks.end(), span.begin_byte,
        [](const text::Token& t, uint32_t b) { return t.span.begin_byte < b; });
    auto last = first;
    while (last != toks.end() && last->span.end_byte <= span.end_byte) ++last;
    request.units.push_back({0, static_cast<uint32_t>(first - toks.begin()),
                             static_cast<uint32_t>(last - toks.begin()),
                             span.begin_byte, span.end_byte});
  }
  if (absl::Status s =
          CheckRequestTokens(result.usage.document_tokens, config_.limits);
      !s.ok()) {
    return s;
  }
  request.scored = inputs.size();
  // The context's own passages join the collection only for statistics, so
  // a term common in the context weighs little whichever passages are asked.
  for (const text::PassageBounds& p : ctx_passages) {
    request.units.push_back(
        {0, p.token_begin, p.token_end, p.span.begin_byte, p.span.end_byte});
  }
  result.usage.passages = static_cast<uint32_t>(inputs.size());
  result.usage.times.text_ms = MillisSince(start);
  if (absl::Status s = params.stop.Check("text"); !s.ok()) return s;

  start = absl::Now();
  // A reranker judges every passage it is given: no budget.
  auto scored =
      ScoreUnits(request, result.views, *view_weights, /*budget_tokens=*/0,
                 &result.usage, /*sentence_attention=*/nullptr,
                 views::CalibratedFusion::Units::kCandidates);
  if (!scored.ok()) return scored.status();
  for (size_t i = 0; i < inputs.size(); ++i) {
    result.scores[i].detail = std::move((*scored)[i]);
  }
  result.usage.times.score_ms =
      MillisSince(start) - result.usage.times.encode_ms;
  return result;
}

}  // namespace attnr

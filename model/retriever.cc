#include "model/retriever.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/network/digest.h"
#include "model/scoring/attention_view.h"
#include "model/scoring/lexical_view.h"
#include "model/text/analyzed_document.h"
#include "model/text/passage_builder.h"
#include "model/text/tokenizer.h"
#include "model/text/utf8.h"

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

double ViewScore(const ScoreDetail& d, ScoringView view) {
  switch (view) {
    case ScoringView::kLexical:
      return d.lexical;
    case ScoringView::kAttention:
      return d.attention;
    case ScoringView::kEntity:
      return d.entity;
  }
  return 0;
}

// Fuses the views: one view ranks by its own score; several are combined by
// weighted reciprocal-rank fusion (k = 60), robust to the views' different
// scales. A unit a view gives no score (0) gets nothing from that view.
void Fuse(const std::vector<ScoringView>& views, double attention_weight,
          std::vector<ScoreDetail>* details) {
  if (views.size() == 1) {
    for (ScoreDetail& d : *details) d.fused = ViewScore(d, views[0]);
    return;
  }
  constexpr double kRrf = 60.0;
  std::vector<uint32_t> order(details->size());
  for (ScoreDetail& d : *details) d.fused = 0;
  for (ScoringView v : views) {
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return ViewScore((*details)[a], v) > ViewScore((*details)[b], v);
    });
    for (uint32_t rank = 0; rank < order.size(); ++rank) {
      ScoreDetail& d = (*details)[order[rank]];
      const double weight =
          v == ScoringView::kAttention ? attention_weight : 1.0;
      if (ViewScore(d, v) > 0) d.fused += weight / (kRrf + rank + 1);
    }
  }
}

}  // namespace

const char* ScoringViewName(ScoringView view) {
  switch (view) {
    case ScoringView::kLexical:
      return "LEXICAL";
    case ScoringView::kAttention:
      return "ATTENTION";
    case ScoringView::kEntity:
      return "ENTITY";
  }
  return "UNKNOWN";
}

Retriever::Retriever(const RetrieverConfig& config,
                     std::unique_ptr<network::AttentionModel> model)
    : config_(config),
      model_(std::move(model)),
      analyses_(config.cache_bytes / 4) {
  if (model_ == nullptr) {
    description_.name = "attnr-lexical";
    description_.version = "0.1.0";
    description_.description =
        "In-document BM25 over sentence-packed passages (Snowball English "
        "stemmer, stopwords removed); no trained model loaded.";
    description_.views = {ScoringView::kLexical};
    description_.default_views = description_.views;
    return;
  }
  cache_ = std::make_unique<DocumentCache<network::EncodedDocument>>(
      config.cache_bytes);
  description_.name = model_->name();
  description_.version = model_->version();
  description_.description = absl::StrCat(
      "Causal transformer whose query-to-document attention ranks sentences "
      "(AttentionRetriever), fused with in-document BM25 by reciprocal rank. ",
      model_->notes());
  description_.views = {ScoringView::kLexical, ScoringView::kAttention};
  description_.weights_sha256 = model_->sha256();
  description_.default_views =
      config.default_views.empty() ? description_.views : config.default_views;
}

absl::StatusOr<std::unique_ptr<Retriever>> Retriever::Create(
    const RetrieverConfig& config) {
  std::unique_ptr<network::AttentionModel> model;
  if (!config.weights_path.empty()) {
    auto loaded =
        network::AttentionModel::Load(config.weights_path, config.threads);
    if (!loaded.ok()) return loaded.status();
    model = *std::move(loaded);
  }
  std::unique_ptr<Retriever> retriever(new Retriever(config, std::move(model)));
  for (ScoringView v : config.default_views) {
    const auto& all = retriever->description_.views;
    if (std::find(all.begin(), all.end(), v) == all.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("default_views names ", ScoringViewName(v),
                       ", which the loaded model does not have"));
    }
  }
  return retriever;
}

Retriever::ModelTurn::~ModelTurn() {
  if (owner_ == nullptr) return;
  absl::MutexLock lock(&owner_->model_mu_);
  owner_->model_busy_ = false;
}

absl::StatusOr<Retriever::ModelTurn> Retriever::TakeModel(
    const StopSignal& stop, absl::string_view stage) const {
  absl::MutexLock lock(&model_mu_);
  auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(model_mu_) {
    return !model_busy_;
  };
  // Short slices: a caller that goes away while waiting stops waiting.
  while (!model_mu_.AwaitWithTimeout(absl::Condition(&free),
                                     absl::Milliseconds(10))) {
    if (absl::Status s = stop.Check(stage); !s.ok()) return s;
  }
  if (absl::Status s = stop.Check(stage); !s.ok()) return s;
  model_busy_ = true;
  return ModelTurn(this);
}

absl::StatusOr<std::shared_ptr<const text::AnalyzedDocument>>
Retriever::Analyze(absl::string_view text, const std::string& digest,
                   const text::AnalyzeOptions& options, uint64_t max_tokens,
                   const StopSignal& stop) const {
  // The analysis depends on the text and on the options (sentence cap,
  // limits), so both make the key.
  const std::string key =
      absl::StrCat(digest, ":", options.max_sentence_tokens, ":",
                   options.max_tokens, ":", options.max_sentences);
  text::AnalyzeOptions capped = options;
  if (max_tokens > 0 &&
      (options.max_tokens == 0 || max_tokens < options.max_tokens)) {
    capped.max_tokens = static_cast<uint32_t>(max_tokens);
    capped.max_tokens_name = "max_request_tokens";
  }
  return analyses_.GetOrCreate(
      key,
      [&]() -> absl::StatusOr<std::shared_ptr<const text::AnalyzedDocument>> {
        auto doc = text::AnalyzeDocument(text, capped, stop);
        if (!doc.ok()) return doc.status();
        return std::make_shared<const text::AnalyzedDocument>(*std::move(doc));
      },
      stop);
}

absl::StatusOr<std::vector<ScoreDetail>> Retriever::ScoreUnits(
    const std::vector<text::Token>& query,
    const std::vector<scoring::TokenSlice>& units, size_t scored,
    const std::vector<Sequence>& sequences,
    const std::vector<ScoringView>& views, bool explain, const StopSignal& stop,
    RetrievalUsage* usage) const {
  std::vector<ScoreDetail> details(scored);
  auto uses = [&](ScoringView v) {
    return std::find(views.begin(), views.end(), v) != views.end();
  };
  if (uses(ScoringView::kAttention)) {
    // Encode stage: each sequence once, through the document cache; calls
    // asking for the same sequence at once share one encode.
    const absl::Time start = absl::Now();
    std::vector<std::shared_ptr<const network::EncodedDocument>> encoded;
    std::vector<const network::EncodedDocument*> pointers;
    bool all_hit = !sequences.empty();
    for (const Sequence& seq : sequences) {
      const std::string key = absl::StrCat(model_->sha256(), ":", seq.digest);
      CacheOutcome outcome;
      auto doc = cache_->GetOrCreate(
          key,
          [&]() -> absl::StatusOr<
                    std::shared_ptr<const network::EncodedDocument>> {
            auto turn = TakeModel(stop, "encode");
            if (!turn.ok()) return turn.status();
            return model_->Encode(*seq.tokens, stop);
          },
          stop, &outcome);
      if (!doc.ok()) return doc.status();
      all_hit &= outcome == CacheOutcome::kHit;
      if (outcome == CacheOutcome::kCreated) {
        usage->encoded_tokens += seq.tokens->size();
      }
      encoded.push_back(*doc);
      pointers.push_back(doc->get());
    }
    usage->cache_hit = all_hit;
    usage->times.encode_ms = MillisSince(start);
    size_t total_tokens = 0;
    for (const Sequence& seq : sequences) total_tokens += seq.tokens->size();
    scoring::AttentionViewScorer scorer(units, scored, total_tokens,
                                        config_.attention_view,
                                        explain ? &query : nullptr);
    absl::Status read;
    {
      auto turn = TakeModel(stop, "read-out");
      if (!turn.ok()) return turn.status();
      read = model_->VisitQueryTokenRelevance(
          query, pointers,
          [&](const network::QueryTokenMass& group) {
            for (size_t i = 0; i < sequences.size(); ++i) {
              if (group.mass[i] == nullptr) continue;
              scorer.AddRows(sequences[i].tokens, group.first_query,
                             group.mass[i], group.queries, group.term_weights);
            }
          },
          stop);
    }
    if (!read.ok()) return read;
    const std::vector<double> attention = scorer.Scores();
    for (size_t u = 0; u < scored; ++u) {
      details[u].attention = attention[u];
      if (explain) details[u].attended_terms = scorer.AttendedTerms(u);
    }
  }
  if (uses(ScoringView::kLexical)) {
    scoring::LexicalScores lexical =
        scoring::ScoreLexical(query, units, explain);
    for (size_t u = 0; u < scored; ++u) {
      details[u].lexical = lexical.scores[u];
      if (explain)
        details[u].matched_terms = std::move(lexical.matched_terms[u]);
    }
  }
  Fuse(views, config_.attention_fusion_weight, &details);
  return details;
}

absl::StatusOr<std::vector<ScoringView>> Retriever::ResolveViews(
    const std::vector<ScoringView>& requested, absl::string_view field) const {
  if (requested.empty()) return description_.default_views;
  std::vector<ScoringView> views;
  for (ScoringView v : requested) {
    if (std::find(description_.views.begin(), description_.views.end(), v) ==
        description_.views.end()) {
      std::vector<std::string> names;
      for (ScoringView a : description_.views) {
        names.push_back(ScoringViewName(a));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": view ", ScoringViewName(v), " is not available in model ",
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
    absl::string_view query, const std::vector<ScoringView>& requested,
    std::vector<ScoringView>* views, RetrievalUsage* usage) const {
  auto tokens = AnalyzeQuery(query, config_.limits);
  if (!tokens.ok()) return tokens.status();
  auto resolved = ResolveViews(requested, "options.views");
  if (!resolved.ok()) return resolved.status();
  *views = *std::move(resolved);
  usage->query_tokens = static_cast<uint32_t>(tokens->size());
  return tokens;
}

absl::StatusOr<RetrieveResult> Retriever::Retrieve(
    absl::string_view query, const std::vector<DocumentRef>& documents,
    const RetrieveParams& params) const {
  RetrieveResult result;
  absl::Time start = absl::Now();
  const auto query_tokens =
      PrepareQuery(query, params.views, &result.views, &result.usage);
  if (!query_tokens.ok()) return query_tokens.status();
  const std::vector<ScoringView>& views = result.views;

  // Text stage: every document through the pipeline, limits checked as
  // early as possible so an oversized request costs little.
  text::AnalyzeOptions analyze;
  analyze.max_sentence_tokens = params.max_passage_tokens;
  analyze.max_tokens = config_.limits.max_document_tokens;
  text::PassageOptions passage_options;
  passage_options.max_tokens = params.max_passage_tokens;
  passage_options.overlap_sentences = params.overlap_sentences;
  std::vector<std::shared_ptr<const text::AnalyzedDocument>> docs;
  std::vector<std::string> digests;
  std::vector<std::vector<text::PassageBounds>> passages;
  docs.reserve(documents.size());
  analyze.max_sentences = config_.limits.max_document_sentences;
  for (size_t d = 0; d < documents.size(); ++d) {
    digests.push_back(network::Sha256Hex(documents[d].text));
    // What is left of the request's token budget caps this document's
    // count too, so a request over budget stops at the budget.
    const uint64_t budget = config_.limits.max_request_tokens;
    const uint64_t left =
        budget == 0
            ? 0  // No request limit.
            : std::max<uint64_t>(budget - result.usage.document_tokens, 1);
    auto doc =
        Analyze(documents[d].text, digests.back(), analyze, left, params.stop);
    if (!doc.ok()) {
      if (absl::IsResourceExhausted(doc.status()) &&
          absl::StrContains(doc.status().message(), "(max_request_tokens)")) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "documents: more than ", config_.limits.max_request_tokens,
            " tokens in all, over the limit per request (max_request_tokens)"));
      }
      return Annotate(doc.status(), absl::StrCat("documents[", d, "]"));
    }
    result.usage.document_tokens += (*doc)->tokens.size();
    if (absl::Status s =
            CheckRequestTokens(result.usage.document_tokens, config_.limits);
        !s.ok()) {
      return s;
    }
    result.usage.sentences += static_cast<uint32_t>((*doc)->sentences.size());
    passages.push_back(text::BuildPassages(**doc, passage_options));
    result.usage.passages += static_cast<uint32_t>(passages.back().size());
    docs.push_back(*std::move(doc));
    if (absl::Status s = params.stop.Check("text"); !s.ok()) return s;
  }
  result.usage.times.text_ms = MillisSince(start);

  // Score stage.
  start = absl::Now();
  std::vector<scoring::TokenSlice> units;
  std::vector<std::pair<uint32_t, const text::PassageBounds*>> unit_origin;
  for (uint32_t d = 0; d < docs.size(); ++d) {
    for (const text::PassageBounds& p : passages[d]) {
      units.push_back({&docs[d]->tokens, p.token_begin, p.token_end});
      unit_origin.emplace_back(d, &p);
    }
  }
  std::vector<Sequence> sequences;
  for (size_t d = 0; d < docs.size(); ++d) {
    sequences.push_back({digests[d], &docs[d]->tokens});
  }
  auto scored = ScoreUnits(*query_tokens, units, units.size(), sequences, views,
                           params.explain, params.stop, &result.usage);
  if (!scored.ok()) return scored.status();
  std::vector<ScoreDetail>& details = *scored;
  if (absl::Status s = params.stop.Check("score"); !s.ok()) return s;

  // Rank: best first; ties keep document order so answers are stable.
  std::vector<uint32_t> order(units.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return details[a].fused > details[b].fused;
  });
  // Overlapping passages (from overlap_sentences) would repeat evidence:
  // keep the best of each overlapping group. Passages with no evidence at
  // all (fused score 0) are not returned, so fewer than top_k can come back.
  for (uint32_t u : order) {
    if (result.passages.size() >= params.top_k) break;
    if (details[u].fused <= 0) break;
    RetrievedPassage p;
    p.document_index = unit_origin[u].first;
    const text::PassageBounds& bounds = *unit_origin[u].second;
    p.span = bounds.span;
    p.sentences = bounds.sentence_end - bounds.sentence_begin;
    p.origin = PassageOrigin::kQueryMatch;
    p.detail = std::move(details[u]);
    const bool overlaps =
        std::any_of(result.passages.begin(), result.passages.end(),
                    [&](const RetrievedPassage& q) { return Overlaps(p, q); });
    if (!overlaps) result.passages.push_back(std::move(p));
  }
  // The encode stage is timed on its own; the score stage is the rest.
  result.usage.times.score_ms =
      MillisSince(start) - result.usage.times.encode_ms;
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
  const std::vector<ScoringView>& views = result.views;

  std::shared_ptr<const text::AnalyzedDocument> ctx;
  std::string ctx_digest;
  std::vector<text::PassageBounds> ctx_passages;
  if (context != nullptr) {
    text::AnalyzeOptions analyze;
    analyze.max_sentence_tokens = config_.context_passage_tokens;
    analyze.max_tokens = config_.limits.max_document_tokens;
    analyze.max_sentences = config_.limits.max_document_sentences;
    ctx_digest = network::Sha256Hex(context->text);
    auto doc = Analyze(context->text, ctx_digest, analyze,
                       config_.limits.max_request_tokens, params.stop);
    if (!doc.ok()) return Annotate(doc.status(), "context.text");
    ctx = *std::move(doc);
    text::PassageOptions passage_options;
    passage_options.max_tokens = config_.context_passage_tokens;
    ctx_passages = text::BuildPassages(*ctx, passage_options);
    result.usage.document_tokens += ctx->tokens.size();
    result.usage.sentences += static_cast<uint32_t>(ctx->sentences.size());
  }

  // Resolve every input to a token slice (and, for ranges, a TextSpan).
  std::vector<std::vector<text::Token>> own_tokens(inputs.size());
  std::vector<scoring::TokenSlice> units;
  units.reserve(inputs.size() + ctx_passages.size());
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
      own_tokens[i] = text::Tokenize(in.text);
      result.usage.document_tokens += own_tokens[i].size();
      units.push_back(
          {&own_tokens[i], 0, static_cast<uint32_t>(own_tokens[i].size())});
      continue;
    }
    const bool chars = in.kind == ScoreInput::Kind::kCharRange;
    const std::string field =
        absl::StrCat("passages[", i, chars ? "].char_range" : "].byte_range");
    if (ctx == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": a range needs the context document, which is missing"));
    }
    const uint32_t limit =
        chars ? ctx->index->char_count() : ctx->index->byte_count();
    if (in.start > in.end || in.end > limit) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": [", in.start, ", ", in.end, ") is not a range within the ",
          limit, chars ? " code points" : " bytes", " of the context"));
    }
    if (!chars) {
      for (uint32_t offset : {in.start, in.end}) {
        if (!ctx->index->IsBoundary(offset)) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ": byte offset ", offset,
                           " falls inside a UTF-8 character of the context"));
        }
      }
    }
    text::TextSpan span;
    if (chars) {
      span = {ctx->index->ByteAt(in.start), ctx->index->ByteAt(in.end),
              in.start, in.end};
    } else {
      span = {in.start, in.end, ctx->index->CharAt(in.start),
              ctx->index->CharAt(in.end)};
    }
    result.scores[i].span = span;
    // Tokens wholly inside the range.
    const auto& toks = ctx->tokens;
    auto first = std::lower_bound(
        toks.begin(), toks.end(), span.begin_byte,
        [](const text::Token& t, uint32_t b) { return t.span.begin_byte < b; });
    auto last = first;
    while (last != toks.end() && last->span.end_byte <= span.end_byte) ++last;
    units.push_back({&toks, static_cast<uint32_t>(first - toks.begin()),
                     static_cast<uint32_t>(last - toks.begin())});
  }
  if (absl::Status s =
          CheckRequestTokens(result.usage.document_tokens, config_.limits);
      !s.ok()) {
    return s;
  }
  // The context's own passages join the collection only for statistics, so
  // a term common in the context weighs little whichever passages are asked.
  for (const text::PassageBounds& p : ctx_passages) {
    units.push_back({&ctx->tokens, p.token_begin, p.token_end});
  }
  result.usage.passages = static_cast<uint32_t>(inputs.size());
  result.usage.times.text_ms = MillisSince(start);
  if (absl::Status s = params.stop.Check("text"); !s.ok()) return s;

  start = absl::Now();
  std::vector<Sequence> sequences;
  if (ctx != nullptr) sequences.push_back({ctx_digest, &ctx->tokens});
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].kind == ScoreInput::Kind::kText) {
      sequences.push_back({network::Sha256Hex(inputs[i].text), &own_tokens[i]});
    }
  }
  auto scored = ScoreUnits(*query_tokens, units, inputs.size(), sequences,
                           views, params.explain, params.stop, &result.usage);
  if (!scored.ok()) return scored.status();
  for (size_t i = 0; i < inputs.size(); ++i) {
    result.scores[i].detail = std::move((*scored)[i]);
  }
  result.usage.times.score_ms =
      MillisSince(start) - result.usage.times.encode_ms;
  return result;
}

}  // namespace attnr

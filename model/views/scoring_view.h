#ifndef ATTNR_MODEL_VIEWS_SCORING_VIEW_H_
#define ATTNR_MODEL_VIEWS_SCORING_VIEW_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/entities/entity_graph.h"
#include "model/scoring/document_terms.h"
#include "model/stop_signal.h"
#include "model/text/tokenizer.h"
#include "model/views/view_registry.h"

namespace attnr::views {

// One token sequence the request's units slice: a document (or a Score
// request's context) as analyzed once and cached, or a caller's own
// passage. Everything here outlives the call.
struct Sequence {
  std::string digest;      // SHA-256 of `text` (runtime::Sha256Hex).
  absl::string_view text;  // As sent; token spans index it.
  const std::vector<text::Token>* tokens = nullptr;
  const scoring::DocumentTerms* terms = nullptr;
  // The sentences and their entity graph; a caller's own passage is one
  // analysis too.
  const std::vector<text::Sentence>* sentences = nullptr;
  const entities::EntityGraph* entities = nullptr;
};

// A unit the views judge: tokens [token_begin, token_end) of
// sequences[sequence], covering bytes [begin_byte, end_byte) of its text.
struct Unit {
  uint32_t sequence = 0;
  uint32_t token_begin = 0;
  uint32_t token_end = 0;
  uint32_t begin_byte = 0;
  uint32_t end_byte = 0;
};

// What every view is asked, once per request.
struct ViewRequest {
  absl::string_view query_text;
  const std::vector<text::Token>* query = nullptr;
  std::vector<Sequence> sequences;
  // units[0, scored) are judged; the rest (a Score request's context
  // passages) only lend collection statistics.
  std::vector<Unit> units;
  size_t scored = 0;
  // The scored units, most promising first by the views that cost nothing
  // (empty: document order). A view on a budget spends it in this order.
  std::vector<uint32_t> priority;
  // With a budget, a neural view does new work only for the first
  // `candidates` units of `priority` (0: any); the others it judges only
  // from its cache. So a repeated query costs no new work, and the
  // candidate stage's recall bounds what a cold request can find.
  size_t candidates = 0;
  // Fill reasons.
  bool explain = false;
  // Fill ViewScores::sentence_attention (a view that reads attention).
  bool explain_sentences = false;
  StopSignal stop;
};

// A view's judgement of units[0, scored): a score per unit (0: no evidence,
// or not judged within the budget) and, with explain, the reasons.
struct ViewScores {
  std::vector<double> scores;
  // Per unit, whether the view judged it (1) or its budget left it unread
  // (0); empty when it judged every unit.
  std::vector<uint8_t> judged;
  std::vector<std::vector<std::string>> reasons;  // Empty without explain.
  // With explain_sentences, from an attention view: per sequence, per
  // sentence, the attention the question paid it (NaN: not read). Empty
  // from other views.
  std::vector<std::vector<double>> sentence_attention;
};

// What a view spent on a request, added into the request's usage.
struct ViewUsage {
  // Tokens this call ran through a network itself (not from the caches or
  // from a concurrent call's work).
  uint64_t encoded_tokens = 0;
  // Everything this view needed was already cached.
  bool cache_hit = true;
  // Units the view left unjudged because its budget ran out.
  uint32_t unjudged_units = 0;
  // Of those, units longer in the view's own model tokens than its window
  // cap: the view never judges them (their cost would be unbounded).
  uint32_t oversized_units = 0;
  double derive_ms = 0;
};

// One way of judging a passage against a query. Views are stateless towards
// callers and thread-safe; what they derive from a document (encoded keys,
// passage embeddings) they cache by document digest and model digest, so
// the same document asked again costs only the query's side.
class ScoringView {
 public:
  virtual ~ScoringView() = default;

  virtual ViewKind kind() const = 0;
  // Runs a network (its work is serialized through the ModelGate and
  // budgeted); cheap views run first and order the units for it.
  virtual bool neural() const = 0;
  // The model this view runs (name/version) and its digest; empty for a
  // view without one.
  virtual std::string model_name() const { return ""; }
  virtual std::string model_sha256() const { return ""; }
  // Bytes its caches hold now (0: it keeps none).
  virtual size_t cache_bytes() const { return 0; }
  // The tokens this view's model runs for `query` (0: a view without a
  // model), counted by the model's own tokenizer.
  virtual size_t QueryModelTokens(absl::string_view query) const { return 0; }

  // Derives and caches the per-document artifacts the request needs within
  // `budget_tokens` of new network work (0: no budget; a budget is what a
  // request may spend before answering, a warm-up has none). Returns what
  // Score reads, valid while the returned object lives.
  class Derived {
   public:
    virtual ~Derived() = default;
  };
  virtual absl::StatusOr<std::unique_ptr<const Derived>> Derive(
      const ViewRequest& request, uint64_t budget_tokens,
      ViewUsage* usage) const = 0;

  virtual absl::StatusOr<ViewScores> Score(const ViewRequest& request,
                                           const Derived* derived,
                                           ViewUsage* usage) const = 0;
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_SCORING_VIEW_H_

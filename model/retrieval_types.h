#ifndef ATTNR_MODEL_RETRIEVAL_TYPES_H_
#define ATTNR_MODEL_RETRIEVAL_TYPES_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "model/stop_signal.h"
#include "model/text/text_span.h"
#include "model/views/view_registry.h"

// Value types of the retrieval library's interface. They mirror the public
// API (proto/attnr/v1/retriever.proto) without depending on it, so model/
// knows nothing of gRPC or protobuf; server/ converts at the edge.
namespace attnr {

// Limits on what one request may ask of the pipeline. 0 means no limit.
struct TextLimits {
  uint32_t max_document_tokens = 0;
  uint32_t max_request_tokens = 0;
  uint32_t max_query_tokens = 0;
  // The query in each neural view's own tokens (0: no limit).
  uint32_t max_query_model_tokens = 0;
  uint32_t max_document_sentences = 0;
};

struct DocumentRef {
  absl::string_view id;
  absl::string_view text;
};

struct RetrieveParams {
  uint32_t top_k = 5;
  uint32_t max_passage_tokens = 128;
  uint32_t overlap_sentences = 0;
  bool explain = false;
  // Also every document's sentences with the attention the LLM view paid
  // each (RetrieveResult::explanations).
  bool explain_sentences = false;
  // Views to fuse; empty means every view the model has.
  std::vector<ViewKind> views;
  // The request's own fusion weights (RetrieveOptions.view_weights): a view
  // named here weighs this instead of the server's weight, and the fused
  // scores are then the uncalibrated combination.
  std::vector<std::pair<ViewKind, double>> view_weights;
  // Follow shared entities from the best matches (the retrieval scope).
  bool entity_scope = false;
  // Grow returned passages into predicted ranges (model/ranges/), each of
  // at most max_range_tokens tokens (0: no cap).
  bool grow_ranges = false;
  uint32_t max_range_tokens = 0;
  // The caller's deadline and cancellation: the pipeline checks it between
  // blocks and stops with DEADLINE_EXCEEDED or CANCELLED.
  StopSignal stop;
};

enum class PassageOrigin { kQueryMatch, kEntityScope };

// One view's judgement of a unit: its raw score (before fusion; 0 is no
// evidence) and, with explain, its reasons (for the lexical view the query
// words the unit contains, for the attention view the query words whose
// attention lifts it).
struct ViewScore {
  ViewKind view = ViewKind::kLexical;
  double score = 0;
  std::vector<std::string> reasons;
  // False when a neural view's budget or pacing left the unit unread: its 0
  // is then no judgement at all, and fusion must not count it as one.
  bool judged = true;
};

struct ScoreDetail {
  std::vector<ViewScore> views;  // One per fused view, in the request's order.
  double fused = 0;

  // The view's score, 0 when it was not used.
  double ScoreOf(ViewKind view) const {
    for (const ViewScore& v : views) {
      if (v.view == view) return v.score;
    }
    return 0;
  }
  // The view's reasons (empty when it was not used or gave none).
  const std::vector<std::string>& ReasonsOf(ViewKind view) const {
    static const std::vector<std::string>* const kNone =
        new std::vector<std::string>();
    for (const ViewScore& v : views) {
      if (v.view == view) return v.reasons;
    }
    return *kNone;
  }
};

struct RetrievedPassage {
  uint32_t document_index = 0;
  text::TextSpan span;
  uint32_t sentences = 0;
  PassageOrigin origin = PassageOrigin::kQueryMatch;
  ScoreDetail detail;
  std::vector<std::string> entities;
};

// Whether two returned ranges share a byte of one document.
inline bool Overlaps(const RetrievedPassage& a, const RetrievedPassage& b) {
  return a.document_index == b.document_index &&
         a.span.begin_byte < b.span.end_byte &&
         b.span.begin_byte < a.span.end_byte;
}

struct StageTimes {
  double text_ms = 0;
  double encode_ms = 0;
  double score_ms = 0;
};

struct RetrievalUsage {
  uint32_t query_tokens = 0;
  uint64_t document_tokens = 0;
  uint32_t sentences = 0;
  uint32_t passages = 0;
  bool cache_hit = false;
  // Tokens this call ran through a network itself (not from the caches or
  // from a concurrent call's work), over every neural view.
  uint64_t encoded_tokens = 0;
  // Passages a neural view left unjudged because the request's budget
  // (neural_budget_tokens) ran out; Prepare a document to judge them all.
  uint32_t unjudged_passages = 0;
  // Of those, passages longer in a neural view's own model tokens than its
  // window cap: never judged by that view, whatever the budget.
  uint32_t oversized_passages = 0;
  StageTimes times;
};

// A document's sentences and the attention the LLM view paid each (NaN:
// not read; `attention` empty: the LLM view was not used).
struct DocumentExplanation {
  uint32_t document_index = 0;
  std::vector<text::TextSpan> sentences;
  std::vector<double> attention;
  std::string note;
};

struct RetrieveResult {
  std::vector<RetrievedPassage> passages;  // Best first.
  std::vector<ViewKind> views;             // Views that were fused.
  RetrievalUsage usage;
  // With explain_sentences: one per document.
  std::vector<DocumentExplanation> explanations;
};

// A passage handed to Score: its own text, or a range of the context
// document in code points or bytes.
struct ScoreInput {
  enum class Kind { kText, kCharRange, kByteRange };
  Kind kind = Kind::kText;
  absl::string_view text;
  uint32_t start = 0;
  uint32_t end = 0;
};

struct ScoreParams {
  bool explain = false;
  std::vector<ViewKind> views;
  std::vector<std::pair<ViewKind, double>> view_weights;  // As Retrieve's.
  StopSignal stop;
};

struct ScoredInput {
  text::TextSpan span;  // Range in the context document (ranges only).
  ScoreDetail detail;
};

struct ScoreResult {
  std::vector<ScoredInput> scores;  // In input order.
  std::vector<ViewKind> views;
  RetrievalUsage usage;
};

// A pretrained or trained model a view runs.
struct LoadedModel {
  ViewKind view = ViewKind::kLexical;
  std::string name;  // name/version, or the model folder's name.
  std::string sha256;
};

// A warm-up: what Prepare derived for later queries.
struct PrepareResult {
  std::vector<ViewKind> views;  // The neural views prepared.
  RetrievalUsage usage;
};

struct ModelDescription {
  std::string name;
  std::string version;
  std::string description;
  std::vector<ViewKind> views;
  std::vector<ViewKind> default_views;
  std::string weights_sha256;
  std::vector<LoadedModel> models;
};

}  // namespace attnr

#endif  // ATTNR_MODEL_RETRIEVAL_TYPES_H_

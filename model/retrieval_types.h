#ifndef ATTNR_MODEL_RETRIEVAL_TYPES_H_
#define ATTNR_MODEL_RETRIEVAL_TYPES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "model/stop_signal.h"
#include "model/text/text_span.h"

// Value types of the retrieval library's interface. They mirror the public
// API (proto/attnr/v1/retriever.proto) without depending on it, so model/
// knows nothing of gRPC or protobuf; server/ converts at the edge.
namespace attnr {

enum class ScoringView { kLexical, kAttention, kEntity };

const char* ScoringViewName(ScoringView view);

// Limits on what one request may ask of the pipeline. 0 means no limit.
struct TextLimits {
  uint32_t max_document_tokens = 0;
  uint32_t max_request_tokens = 0;
  uint32_t max_query_tokens = 0;
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
  // Views to fuse; empty means every view the model has.
  std::vector<ScoringView> views;
  // The caller's deadline and cancellation: the pipeline checks it between
  // blocks and stops with DEADLINE_EXCEEDED or CANCELLED.
  StopSignal stop;
};

enum class PassageOrigin { kQueryMatch, kEntityScope };

// Raw per-view scores (0 for views not used) and the fused score.
struct ScoreDetail {
  double lexical = 0;
  double attention = 0;
  double entity = 0;
  double fused = 0;
  std::vector<std::string> matched_terms;
  // Query words whose attention lifts the attention score (explain only).
  std::vector<std::string> attended_terms;
};

struct RetrievedPassage {
  uint32_t document_index = 0;
  text::TextSpan span;
  uint32_t sentences = 0;
  PassageOrigin origin = PassageOrigin::kQueryMatch;
  ScoreDetail detail;
  std::vector<std::string> entities;
};

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
  // Document tokens this call encoded itself (not from the cache or from a
  // concurrent call's encode).
  uint64_t encoded_tokens = 0;
  StageTimes times;
};

struct RetrieveResult {
  std::vector<RetrievedPassage> passages;  // Best first.
  std::vector<ScoringView> views;          // Views that were fused.
  RetrievalUsage usage;
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
  std::vector<ScoringView> views;
  StopSignal stop;
};

struct ScoredInput {
  text::TextSpan span;  // Range in the context document (ranges only).
  ScoreDetail detail;
};

struct ScoreResult {
  std::vector<ScoredInput> scores;  // In input order.
  std::vector<ScoringView> views;
  RetrievalUsage usage;
};

struct ModelDescription {
  std::string name;
  std::string version;
  std::string description;
  std::vector<ScoringView> views;
  std::vector<ScoringView> default_views;
  std::string weights_sha256;
};

}  // namespace attnr

#endif  // ATTNR_MODEL_RETRIEVAL_TYPES_H_

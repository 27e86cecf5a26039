#ifndef ATTNR_MODEL_DOCUMENT_ANALYZER_H_
#define ATTNR_MODEL_DOCUMENT_ANALYZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/document_analysis.h"
#include "model/document_cache.h"
#include "model/retrieval_types.h"
#include "model/text/passage_builder.h"
#include "model/views/scoring_view.h"

namespace attnr {

// A request's documents through the text pipeline and into the units the
// views judge, within the request's limits; analyses are cached by the
// text's digest, so a repeated document skips the pipeline. Thread-safe.
class DocumentAnalyzer {
 public:
  DocumentAnalyzer(const TextLimits& limits, size_t cache_bytes)
      : limits_(limits), analyses_(cache_bytes) {}

  // A Retrieve or Prepare request's documents.
  struct Documents {
    std::vector<std::shared_ptr<const DocumentAnalysis>> analyses;
    // Per document, its passages: the request's units, in order.
    std::vector<std::vector<text::PassageBounds>> passages;
  };
  // Every document analyzed (limits checked as early as possible, so an
  // oversized request costs little) and cut into passages; each becomes a
  // sequence of *request and its passages units. Errors are at
  // RequestField::kDocument i, or kDocuments for the request's token limit.
  absl::StatusOr<Documents> AnalyzeDocuments(
      const std::vector<DocumentRef>& documents, const RetrieveParams& params,
      views::ViewRequest* request, RetrievalUsage* usage) const;

  // A Score request's context document, analyzed and cut into passages of
  // `passage_tokens`; it becomes sequence 0 of *request (its passages are
  // not made units here).
  struct Context {
    std::shared_ptr<const DocumentAnalysis> analysis;
    std::vector<text::PassageBounds> passages;
  };
  absl::StatusOr<Context> AnalyzeContext(const DocumentRef& context,
                                         uint32_t passage_tokens,
                                         const StopSignal& stop,
                                         views::ViewRequest* request,
                                         RetrievalUsage* usage) const;

  // A Score passage sent as text: a sequence of its own and one unit of
  // *request, analyzed for this call only (held by *owned). Sentences and
  // entities only `with_entities` (a reranking call may carry a thousand
  // passages). Errors are at RequestField::kPassageText `index`.
  absl::Status AddPassageText(absl::string_view text, int index,
                              bool with_entities,
                              std::unique_ptr<DocumentAnalysis>* owned,
                              views::ViewRequest* request,
                              RetrievalUsage* usage) const;

  // RESOURCE_EXHAUSTED when `tokens` are over max_request_tokens.
  absl::Status CheckRequestTokens(uint64_t tokens) const;

  size_t cache_bytes() const { return analyses_.bytes(); }

 private:
  // The analysis of `text` (whose digest is given), from the cache or made
  // now and cached. Single-flight: concurrent calls for one text analyze it
  // once. `max_tokens` (0: none) caps this call tighter than
  // options.max_tokens (the request's remaining token budget) without
  // changing the cache key; going over it is the request's limit, not the
  // document's.
  absl::StatusOr<std::shared_ptr<const DocumentAnalysis>> Analyze(
      absl::string_view text, const std::string& digest,
      const text::AnalyzeOptions& options, uint64_t max_tokens,
      const StopSignal& stop) const;

  TextLimits limits_;
  // Analyzed documents (tokens, sentences, offsets, terms: ~100 bytes per
  // token).
  mutable DocumentCache<DocumentAnalysis> analyses_;
};

}  // namespace attnr

#endif  // ATTNR_MODEL_DOCUMENT_ANALYZER_H_

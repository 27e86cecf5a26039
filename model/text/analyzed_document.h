#ifndef ATTNR_MODEL_TEXT_ANALYZED_DOCUMENT_H_
#define ATTNR_MODEL_TEXT_ANALYZED_DOCUMENT_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/stop_signal.h"
#include "model/text/sentence_splitter.h"
#include "model/text/text_span.h"
#include "model/text/tokenizer.h"
#include "model/text/utf8.h"

namespace attnr::text {

// A sentence with its exact range and the tokens it covers.
struct Sentence {
  TextSpan span;
  SentenceKind kind = SentenceKind::kProse;
  bool starts_block = false;
  uint32_t token_begin = 0;  // Index into AnalyzedDocument::tokens.
  uint32_t token_end = 0;

  uint32_t token_count() const { return token_end - token_begin; }
};

struct AnalyzeOptions {
  // Longer sentences (tables, run-on lists, code) are cut at token
  // boundaries into pieces of at most this many tokens, so that one unit
  // never exceeds a passage. 0 means no cap.
  uint32_t max_sentence_tokens = 0;
  // Refuse documents with more tokens (RESOURCE_EXHAUSTED). 0: no limit.
  uint32_t max_tokens = 0;
  // Refuse documents with more sentences (RESOURCE_EXHAUSTED): text of
  // punctuation alone has no tokens but can have millions of sentences.
  // 0: no limit.
  uint32_t max_sentences = 0;
  // The names the errors give the two limits (the settings a caller can
  // look up).
  const char* max_tokens_name = "max_document_tokens";
  const char* max_sentences_name = "max_document_sentences";
  // Sentences are also cut into pieces of at most this many code points, so text with few
  // or no words (punctuation, digits, symbols, one long "word") still makes
  // units that every model reads in bounded tokens: a model's tokenizer
  // yields at most a few tokens per code point. A cut falls before a token
  // that would cross it. 0 means no cap.
  uint32_t max_sentence_chars = 0;
};

// One document after the text pipeline: validated, tokenized and split into
// sentences, every unit with exact char and byte offsets. It holds no view of
// the text, so it can outlive the request (the service caches it by the
// text's digest).
struct AnalyzedDocument {
  std::unique_ptr<Utf8Index> index;
  std::vector<Token> tokens;
  std::vector<Sentence> sentences;

  // The span covering tokens/sentences [begin, end) of this document.
  TextSpan SentenceRange(uint32_t begin, uint32_t end) const;
  // Memory held, for cache budgets.
  size_t bytes() const;
};

// Runs the text pipeline. The limits are checked first, by counts that stop
// at the limit, so refusing a document costs time and memory proportional
// to the limits, not to the document. Errors: INVALID_ARGUMENT for invalid
// UTF-8 (with the byte offset), RESOURCE_EXHAUSTED over a limit, CANCELLED
// or DEADLINE_EXCEEDED from `stop` (checked between stages).
absl::StatusOr<AnalyzedDocument> AnalyzeDocument(
    absl::string_view text, const AnalyzeOptions& options,
    const StopSignal& stop = StopSignal());

}  // namespace attnr::text

#endif  // ATTNR_MODEL_TEXT_ANALYZED_DOCUMENT_H_

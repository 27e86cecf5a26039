#ifndef ATTNR_MODEL_TEXT_PASSAGE_BUILDER_H_
#define ATTNR_MODEL_TEXT_PASSAGE_BUILDER_H_

#include <cstdint>
#include <vector>

#include "model/text/analyzed_document.h"
#include "model/text/text_span.h"

namespace attnr::text {

// A run of whole consecutive sentences [sentence_begin, sentence_end).
struct PassageBounds {
  uint32_t sentence_begin = 0;
  uint32_t sentence_end = 0;
  uint32_t token_begin = 0;
  uint32_t token_end = 0;
  TextSpan span;
};

struct PassageOptions {
  uint32_t max_tokens = 128;
  // Sentences repeated at the start of the next passage.
  uint32_t overlap_sentences = 0;
};

// Packs whole sentences into passages of at most `max_tokens` tokens (a
// single longer sentence stands alone; a sentence without words counts as
// one token). A heading always starts a passage,
// so a section's title travels with its text; a new paragraph starts one
// once the current passage is at least half full. Every sentence belongs to
// at least one passage; passages advance even with large overlaps.
std::vector<PassageBounds> BuildPassages(const AnalyzedDocument& doc,
                                         const PassageOptions& options);

}  // namespace attnr::text

#endif  // ATTNR_MODEL_TEXT_PASSAGE_BUILDER_H_

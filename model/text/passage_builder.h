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
  // A new paragraph starts a new passage once the current one holds at least
  // this share of max_tokens, so passages follow the document's paragraphs
  // (an answer, a dictionary entry) instead of straddling two. Lower shares
  // rank better but cut answers into pieces; this one keeps top-1 F1 at its
  // best for both views on the training corpus's held-out split (the sweep
  // is in MODEL_CARD.md, "Engineering measurements").
  double paragraph_break_fill = 0.25;
  // Passages hold at most this many code points (0: no cap), so a passage of few
  // words (punctuation, numbers, symbols) stays within what the models
  // read in bounded tokens. A single sentence is never longer than
  // AnalyzeOptions::max_sentence_chars.
  uint32_t max_chars = 0;
};

// Packs whole sentences into passages of at most `max_tokens` tokens (a
// single longer sentence stands alone; a sentence without words counts as
// one token). A heading always starts a passage,
// so a section's title travels with its text; a new paragraph starts one
// once the current passage holds paragraph_break_fill of max_tokens. Every
// sentence belongs to at least one passage; passages advance even with large
// overlaps.
// The code point cap of passages (and of sentence pieces) of at most
// `max_tokens` words: 16 code points a word, so prose (~6 a word) and code
// (~8-10) never meet it, while a passage of punctuation or digits stays
// within ~16 model tokens a word (WordPiece splits every punctuation mark;
// byte-level BPE yields at most one token a byte). Never below four of the
// longest tokens (text::kMaxTokenCodePoints), so a cut always fits a token.
uint32_t MaxPassageChars(uint32_t max_tokens);

std::vector<PassageBounds> BuildPassages(const AnalyzedDocument& doc,
                                         const PassageOptions& options);

}  // namespace attnr::text

#endif  // ATTNR_MODEL_TEXT_PASSAGE_BUILDER_H_

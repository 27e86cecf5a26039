#include "model/text/passage_builder.h"

#include <algorithm>

namespace attnr::text {

namespace {

// A sentence costs its tokens, and at least one: sentences without words
// (bare code fences, emoji-only lines) must not pack into one passage
// without bound.
uint32_t Cost(const Sentence& s) {
  return std::max<uint32_t>(s.token_count(), 1);
}

}  // namespace

uint32_t MaxPassageChars(uint32_t max_tokens) {
  constexpr uint32_t kCharsPerWord = 16;
  return std::max<uint32_t>(kCharsPerWord * std::max<uint32_t>(max_tokens, 1),
                            4 * static_cast<uint32_t>(kMaxTokenCodePoints));
}

std::vector<PassageBounds> BuildPassages(const AnalyzedDocument& doc,
                                         const PassageOptions& options) {
  std::vector<PassageBounds> passages;
  const uint32_t n = static_cast<uint32_t>(doc.sentences.size());
  const uint32_t max_tokens = std::max<uint32_t>(options.max_tokens, 1);
  uint32_t begin = 0;
  while (begin < n) {
    uint32_t end = begin + 1;
    uint32_t tokens = Cost(doc.sentences[begin]);
    while (end < n) {
      const Sentence& next = doc.sentences[end];
      if (tokens + Cost(next) > max_tokens) break;
      if (options.max_chars > 0 &&
          next.span.end_char - doc.sentences[begin].span.begin_char >
              options.max_chars) {
        break;
      }
      if (next.kind == SentenceKind::kHeading) break;
      if (next.starts_block &&
          tokens >= options.paragraph_break_fill * max_tokens) {
        break;
      }
      tokens += Cost(next);
      ++end;
    }
    PassageBounds p;
    p.sentence_begin = begin;
    p.sentence_end = end;
    p.token_begin = doc.sentences[begin].token_begin;
    p.token_end = doc.sentences[end - 1].token_end;
    p.span = doc.SentenceRange(begin, end);
    passages.push_back(p);
    if (end >= n) break;
    // Overlap, but never restart at or before the current start.
    const uint32_t overlap =
        std::min(options.overlap_sentences, end - begin - 1);
    begin = end - overlap;
  }
  return passages;
}

}  // namespace attnr::text

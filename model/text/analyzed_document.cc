#include "model/text/analyzed_document.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "model/runtime/limit_error.h"
#include "model/runtime/status_macros.h"

namespace attnr::text {

TextSpan AnalyzedDocument::SentenceRange(uint32_t begin, uint32_t end) const {
  return {sentences[begin].span.begin_byte, sentences[end - 1].span.end_byte,
          sentences[begin].span.begin_char, sentences[end - 1].span.end_char};
}

size_t AnalyzedDocument::bytes() const {
  size_t total = sizeof(*this) + (index ? index->bytes() : 0) +
                 tokens.capacity() * sizeof(Token) +
                 sentences.capacity() * sizeof(Sentence);
  for (const Token& t : tokens) {
    if (t.norm.capacity() > 15) total += t.norm.capacity() + 1;  // Past SSO.
  }
  return total;
}

absl::StatusOr<AnalyzedDocument> AnalyzeDocument(absl::string_view text,
                                                 const AnalyzeOptions& options,
                                                 const StopSignal& stop) {
  if (text.size() > UINT32_MAX - 1) {
    return absl::ResourceExhaustedError(
        absl::StrCat("text of ", text.size(), " bytes exceeds 4 GiB"));
  }
  RETURN_IF_ERROR(ValidateUtf8(text));
  RETURN_IF_ERROR(stop.Check("text"));
  if (options.max_tokens > 0 &&
      CountTokens(text, size_t{options.max_tokens} + 1) > options.max_tokens) {
    return runtime::LimitError(
        options.max_tokens_name,
        absl::StrCat("has more tokens than the limit of ", options.max_tokens,
                     " (", options.max_tokens_name, ")"));
  }
  RETURN_IF_ERROR(stop.Check("text"));
  const std::vector<SentenceBounds> bounds =
      SplitSentences(text, options.max_sentences);
  if (options.max_sentences > 0 && bounds.size() > options.max_sentences) {
    return runtime::LimitError(
        options.max_sentences_name,
        absl::StrCat("has more sentences than the limit of ",
                     options.max_sentences, " (", options.max_sentences_name,
                     ")"));
  }
  RETURN_IF_ERROR(stop.Check("text"));
  AnalyzedDocument doc;
  doc.index = std::make_unique<Utf8Index>(text);
  doc.tokens = Tokenize(text, *doc.index);
  RETURN_IF_ERROR(stop.Check("text"));

  doc.sentences.reserve(bounds.size());
  const uint32_t cap = options.max_sentence_tokens;
  const uint32_t char_cap = options.max_sentence_chars;
  uint32_t t = 0;  // First token not before the current sentence.
  const uint32_t n_tokens = static_cast<uint32_t>(doc.tokens.size());
  const Utf8Index& index = *doc.index;
  for (const SentenceBounds& b : bounds) {
    while (t < n_tokens && doc.tokens[t].span.begin_byte < b.begin_byte) ++t;
    uint32_t end = t;
    while (end < n_tokens && doc.tokens[end].span.end_byte <= b.end_byte) {
      ++end;
    }
    // Pieces of at most `cap` tokens and `char_cap` code points; the first
    // keeps the sentence's start, the last its end. A token cap cuts
    // between tokens (the next piece starts at its first token); a code
    // point cap cuts at the cap or before a token crossing it (the next
    // piece starts there, past whitespace).
    uint32_t piece_begin_byte = b.begin_byte;
    uint32_t first = t;
    bool starts_block = b.starts_block;
    const uint32_t end_char = index.CharAt(b.end_byte);
    while (true) {
      const uint32_t begin_char = index.CharAt(piece_begin_byte);
      const bool tokens_fit = cap == 0 || end - first <= cap;
      const bool chars_fit = char_cap == 0 || end_char - begin_char <= char_cap;
      uint32_t piece_end_tok = tokens_fit ? end : first + cap;
      uint32_t piece_end_byte =
          tokens_fit ? b.end_byte : doc.tokens[piece_end_tok - 1].span.end_byte;
      uint32_t next_begin_byte = piece_end_tok < end
                                     ? doc.tokens[piece_end_tok].span.begin_byte
                                     : b.end_byte;
      if (!chars_fit) {
        uint32_t limit = index.ByteAt(begin_char + char_cap);
        if (limit < piece_end_byte) {
          // Tokens wholly before the cut stay; one crossing it moves the
          // cut to its start (tokens are shorter than any cap, so the piece
          // keeps something).
          uint32_t k = first;
          while (k < end && doc.tokens[k].span.end_byte <= limit) ++k;
          if (k < end && doc.tokens[k].span.begin_byte < limit &&
              doc.tokens[k].span.begin_byte > piece_begin_byte) {
            limit = doc.tokens[k].span.begin_byte;
          }
          piece_end_tok = k;
          piece_end_byte = limit;
          next_begin_byte = limit;
          while (piece_end_byte > piece_begin_byte + 1 &&
                 absl::ascii_isspace(
                     static_cast<unsigned char>(text[piece_end_byte - 1]))) {
            --piece_end_byte;
          }
          while (next_begin_byte < b.end_byte &&
                 absl::ascii_isspace(
                     static_cast<unsigned char>(text[next_begin_byte]))) {
            ++next_begin_byte;
          }
        }
      }
      const bool last =
          piece_end_byte >= b.end_byte || next_begin_byte >= b.end_byte;
      if (last) {
        piece_end_tok = end;
        piece_end_byte = b.end_byte;
      }
      Sentence s;
      s.span = {piece_begin_byte, piece_end_byte,
                index.CharAt(piece_begin_byte), index.CharAt(piece_end_byte)};
      s.kind = b.kind;
      s.starts_block = starts_block;
      s.token_begin = first;
      s.token_end = piece_end_tok;
      doc.sentences.push_back(s);
      if (last) break;
      starts_block = false;
      first = piece_end_tok;
      piece_begin_byte = next_begin_byte;
    }
    t = end;
  }
  return doc;
}

}  // namespace attnr::text

// The text pipeline on arbitrary bytes: invalid UTF-8 is refused naming a
// byte offset inside the input; valid text is analyzed into tokens,
// sentences and passages whose offsets slice the input exactly, and every
// passage is bounded for the models whatever the text (punctuation, digits,
// symbols, one long word): at most MaxPassageChars code points, so at most
// that many WordPiece tokens for the dense encoder and 4x as many byte-level
// BPE tokens for the LLM.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "model/text/analyzed_document.h"
#include "model/text/passage_builder.h"
#include "model/text/tokenizer.h"
#include "model/text/utf8.h"
#include "tests/fuzz/fuzz_models.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  attnr::text::AnalyzeOptions options;
  options.max_sentence_tokens = 32;
  options.max_sentence_chars = attnr::text::MaxPassageChars(32);
  options.max_tokens = 20000;
  options.max_sentences = 20000;
  auto doc = attnr::text::AnalyzeDocument(text, options);
  const bool valid = attnr::text::ValidateUtf8(text).ok();
  if (!doc.ok()) {
    Check(!valid ||
          doc.status().code() == absl::StatusCode::kResourceExhausted ||
          doc.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  Check(valid);
  const size_t chars = attnr::text::CountCodePoints(text);
  for (const attnr::text::Token& t : doc->tokens) {
    Check(t.span.begin_byte < t.span.end_byte && t.span.end_byte <= size);
    Check(t.span.begin_char < t.span.end_char && t.span.end_char <= chars);
    Check(doc->index->ByteAt(t.span.begin_char) == t.span.begin_byte);
    Check(doc->index->ByteAt(t.span.end_char) == t.span.end_byte);
    Check(t.span.end_char - t.span.begin_char <=
          attnr::text::kMaxTokenCodePoints);
  }
  uint32_t last_end = 0;
  for (const attnr::text::Sentence& s : doc->sentences) {
    Check(s.span.begin_byte >= last_end && s.span.end_byte <= size);
    Check(s.token_begin <= s.token_end && s.token_end <= doc->tokens.size());
    Check(s.token_end - s.token_begin <= options.max_sentence_tokens);
    Check(s.span.end_char - s.span.begin_char <= options.max_sentence_chars);
    last_end = s.span.end_byte;
  }
  attnr::text::PassageOptions passage_options;
  passage_options.max_tokens = 32;
  passage_options.max_chars = options.max_sentence_chars;
  passage_options.overlap_sentences = 1;
  for (const auto& p : attnr::text::BuildPassages(*doc, passage_options)) {
    Check(p.span.begin_byte <= p.span.end_byte && p.span.end_byte <= size);
    const absl::string_view passage =
        text.substr(p.span.begin_byte, p.span.end_byte - p.span.begin_byte);
    Check(attnr::text::ValidateUtf8(passage).ok());
    Check(p.span.end_char - p.span.begin_char <= passage_options.max_chars);
    Check(attnr::fuzz::WordPiece().Tokenize(passage).size() <=
          passage_options.max_chars);
    Check(attnr::fuzz::Bpe().Tokenize(passage).size() <=
          4 * passage_options.max_chars);
  }
  return 0;
}

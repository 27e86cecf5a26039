// The dense encoder's WordPiece tokenizer (the pinned all-MiniLM-L6-v2's
// tokenizer.json) on arbitrary valid UTF-8: every piece's span lies inside
// the input, in order, on code-point boundaries.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "model/text/utf8.h"
#include "model/tokenizers/wordpiece_tokenizer.h"
#include "tests/fuzz/fuzz_models.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  if (!attnr::text::ValidateUtf8(text).ok()) return 0;  // Refused upstream.
  uint32_t last = 0;
  for (const auto& piece : attnr::fuzz::WordPiece().Tokenize(text)) {
    if (piece.span.end_byte > size || piece.span.begin_byte < last ||
        piece.span.begin_byte > piece.span.end_byte || piece.id < 0) {
      std::abort();
    }
    // Pieces of one word share its start; the next word starts later.
    last = piece.span.begin_byte;
  }
  return 0;
}

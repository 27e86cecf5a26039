// The dense encoder's WordPiece tokenizer (the pinned all-MiniLM-L6-v2's
// tokenizer.json) on arbitrary valid UTF-8: every piece's span lies inside
// the input, in order, on code-point boundaries.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "model/text/utf8.h"
#include "model/tokenizers/wordpiece_tokenizer.h"
#include "tests/fuzz/fuzz_models.h"

namespace {

const attnr::tokenizers::WordPieceTokenizer& Tokenizer() {
  static const auto* tokenizer = [] {
    const std::string path =
        attnr::fuzz::ModelCache() + "/all-minilm-l6-v2/tokenizer.json";
    auto loaded = attnr::tokenizers::WordPieceTokenizer::Load(path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "wordpiece_fuzzer: %s (make models)\n",
                   std::string(loaded.status().message()).c_str());
      std::abort();
    }
    return new attnr::tokenizers::WordPieceTokenizer(*std::move(loaded));
  }();
  return *tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  if (!attnr::text::ValidateUtf8(text).ok()) return 0;  // Refused upstream.
  uint32_t last = 0;
  for (const auto& piece : Tokenizer().Tokenize(text)) {
    if (piece.span.end_byte > size || piece.span.begin_byte < last ||
        piece.span.begin_byte > piece.span.end_byte || piece.id < 0) {
      std::abort();
    }
    // Pieces of one word share its start; the next word starts later.
    last = piece.span.begin_byte;
  }
  return 0;
}

// The LLM's byte-level BPE tokenizer (the pinned SmolLM2 GGUF's metadata) on
// arbitrary valid UTF-8: every token's span lies inside the input, and the
// spans cover it in order.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "model/formats/gguf_file.h"
#include "model/text/utf8.h"
#include "model/tokenizers/bpe_tokenizer.h"
#include "tests/fuzz/fuzz_models.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  if (!attnr::text::ValidateUtf8(text).ok()) return 0;  // Refused upstream.
  uint32_t last_end = 0;
  for (const auto& token : attnr::fuzz::Bpe().Tokenize(text)) {
    if (token.span.end_byte > size ||
        token.span.begin_byte > token.span.end_byte ||
        token.span.end_byte < last_end || token.id < 0) {
      std::abort();
    }
    last_end = token.span.end_byte;
  }
  return 0;
}

// Where the fuzz targets find the pinned pretrained models' files (the
// model cache `make models` fills: $ATTNR_MODEL_CACHE, else
// ~/.cache/attnr/models).
#ifndef ATTNR_TESTS_FUZZ_FUZZ_MODELS_H_
#define ATTNR_TESTS_FUZZ_FUZZ_MODELS_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "model/formats/gguf_file.h"
#include "model/tokenizers/bpe_tokenizer.h"
#include "model/tokenizers/wordpiece_tokenizer.h"

namespace attnr::fuzz {

inline std::string ModelCache() {
  if (const char* cache = std::getenv("ATTNR_MODEL_CACHE");
      cache != nullptr && *cache != '\0') {
    return cache;
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.cache/attnr/models";
}

// The dense encoder's WordPiece tokenizer (the pinned all-MiniLM-L6-v2's
// tokenizer.json), loaded once; aborts when `make models` has not run.
inline const tokenizers::WordPieceTokenizer& WordPiece() {
  static const auto* tokenizer = [] {
    const std::string path = ModelCache() + "/all-minilm-l6-v2/tokenizer.json";
    auto loaded = tokenizers::WordPieceTokenizer::Load(path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "fuzz: %s (make models)\n",
                   std::string(loaded.status().message()).c_str());
      std::abort();
    }
    return new tokenizers::WordPieceTokenizer(*std::move(loaded));
  }();
  return *tokenizer;
}

// The LLM's byte-level BPE tokenizer (the pinned SmolLM2 GGUF's metadata),
// loaded once; aborts when `make models` has not run.
inline const tokenizers::BpeTokenizer& Bpe() {
  static const auto* tokenizer = [] {
    const std::string path = ModelCache() +
                             "/smollm2-135m-instruct-q4_1/"
                             "SmolLM2-135M-Instruct.Q4_1.gguf";
    auto file = formats::GgufFile::Open(path);
    if (!file.ok()) {
      std::fprintf(stderr, "fuzz: %s (make models)\n",
                   std::string(file.status().message()).c_str());
      std::abort();
    }
    auto loaded = tokenizers::BpeTokenizer::FromGguf(**file);
    if (!loaded.ok()) std::abort();
    return new tokenizers::BpeTokenizer(*std::move(loaded));
  }();
  return *tokenizer;
}

}  // namespace attnr::fuzz

#endif  // ATTNR_TESTS_FUZZ_FUZZ_MODELS_H_

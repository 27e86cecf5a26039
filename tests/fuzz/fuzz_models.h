// Where the fuzz targets find the pinned pretrained models' files (the
// model cache `make models` fills: $ATTNR_MODEL_CACHE, else
// ~/.cache/attnr/models).
#ifndef ATTNR_TESTS_FUZZ_FUZZ_MODELS_H_
#define ATTNR_TESTS_FUZZ_FUZZ_MODELS_H_

#include <cstdlib>
#include <string>

namespace attnr::fuzz {

inline std::string ModelCache() {
  if (const char* cache = std::getenv("ATTNR_MODEL_CACHE");
      cache != nullptr && *cache != '\0') {
    return cache;
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "/root") + "/.cache/attnr/models";
}

}  // namespace attnr::fuzz

#endif  // ATTNR_TESTS_FUZZ_FUZZ_MODELS_H_

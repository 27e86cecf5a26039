// Where `make models` put a pinned pretrained model, for the tests that load
// one: $ATTNR_MODEL_CACHE or ~/.cache/attnr/models, then the model's name.
#ifndef ATTNR_TESTS_UNIT_PRETRAINED_MODEL_FOLDER_H_
#define ATTNR_TESTS_UNIT_PRETRAINED_MODEL_FOLDER_H_

#include <cstdlib>
#include <string>

namespace attnr {

inline std::string PretrainedModelFolder(const std::string& name) {
  const char* cache = std::getenv("ATTNR_MODEL_CACHE");
  const std::string root = cache != nullptr ? cache
                                            : std::string(std::getenv("HOME")) +
                                                  "/.cache/attnr/models";
  return root + "/" + name;
}

}  // namespace attnr

#endif  // ATTNR_TESTS_UNIT_PRETRAINED_MODEL_FOLDER_H_

// Where `make models` put a pinned pretrained model, for the tests that load
// one: $ATTNR_MODEL_CACHE or ~/.cache/attnr/models, then the model's name;
// and the device those tests load it on.
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

// The device the model tests run a pretrained model on: $ATTNR_TEST_DEVICE
// ("cuda" from scripts/gpu-check.sh on a CUDA build), else "cpu". The
// reference vectors and their tolerances are the same on every device.
inline std::string TestDevice() {
  const char* device = std::getenv("ATTNR_TEST_DEVICE");
  return device != nullptr && *device != '\0' ? device : "cpu";
}

}  // namespace attnr

#endif  // ATTNR_TESTS_UNIT_PRETRAINED_MODEL_FOLDER_H_

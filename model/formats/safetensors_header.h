#ifndef ATTNR_MODEL_FORMATS_SAFETENSORS_HEADER_H_
#define ATTNR_MODEL_FORMATS_SAFETENSORS_HEADER_H_

// The JSON header of a Hugging Face safetensors file, parsed and checked
// without touching tensor data (so it is fuzzed without LibTorch): each
// tensor's dtype, shape and byte range within the data that follows.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace attnr::formats {

struct SafetensorsTensor {
  std::string name;
  // "F32", "F16", "BF16", "I64" or "I32".
  std::string dtype;
  size_t element_bytes = 0;
  std::vector<int64_t> shape;
  // Byte range within the data (after the header).
  uint64_t begin = 0;
  uint64_t end = 0;
};

// The header length from the file's first 8 bytes (little-endian), checked
// against the file's size. DATA_LOSS naming `path` when it cannot be.
absl::StatusOr<uint64_t> SafetensorsHeaderLength(absl::string_view first_bytes,
                                                 uint64_t file_size,
                                                 const std::string& path);

// Every tensor the header describes (`__metadata__` skipped), by name. Errors:
// DATA_LOSS (not a JSON object, a field missing or of the wrong type, a
// negative or overflowing shape, a byte range that runs past `data_size` or
// does not match the shape), INVALID_ARGUMENT (a dtype this reader does not
// take, named).
absl::StatusOr<std::vector<SafetensorsTensor>> ParseSafetensorsHeader(
    absl::string_view header, uint64_t data_size, const std::string& path);

}  // namespace attnr::formats

#endif  // ATTNR_MODEL_FORMATS_SAFETENSORS_HEADER_H_

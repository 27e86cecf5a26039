#ifndef ATTNR_MODEL_FORMATS_SAFETENSORS_FILE_H_
#define ATTNR_MODEL_FORMATS_SAFETENSORS_FILE_H_

// Reads Hugging Face safetensors files: an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range,
// then the raw little-endian data.
#include <torch/torch.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace attnr::formats {

// Every tensor of the file, as float32 (F16 and BF16 are widened), by name.
// Integer tensors (I64, I32) keep their type. Errors: NOT_FOUND,
// DATA_LOSS (truncated, ranges that overlap the header or run past the
// end, sizes that do not match the shape), INVALID_ARGUMENT (a dtype this
// reader does not take, named).
absl::StatusOr<std::map<std::string, torch::Tensor>> ReadSafetensors(
    const std::string& path);

}  // namespace attnr::formats

#endif  // ATTNR_MODEL_FORMATS_SAFETENSORS_FILE_H_

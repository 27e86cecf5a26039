#ifndef ATTNR_MODEL_FORMATS_GGUF_QUANTS_H_
#define ATTNR_MODEL_FORMATS_GGUF_QUANTS_H_

// ggml's tensor element types as GGUF files store them, and their
// dequantisation to float. Block layouts follow ggml (ggml-common.h,
// ggml-quants.c); verified against gguf-py's `gguf.quants.dequantize` on
// tests/vectors/gguf_quants.json.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace attnr::formats {

// ggml_type numbers (stable in the file format).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

struct GgmlTypeInfo {
  std::string name;       // ggml's name, e.g. "Q4_K"; "type 99" if unknown.
  size_t block_elements;  // Elements per block (1 for plain floats).
  size_t block_bytes;     // Bytes per block.
  bool dequantizable;     // Whether DequantizeRow takes it.
};

// The type's name and block geometry. Errors: INVALID_ARGUMENT for a
// number ggml does not define.
absl::StatusOr<GgmlTypeInfo> TypeInfo(uint32_t type);

// Bytes `elements` values of `type` take; INVALID_ARGUMENT if `elements` is
// not a whole number of blocks or the type is unknown.
absl::StatusOr<size_t> RowBytes(uint32_t type, size_t elements);

// Writes `elements` floats decoded from `data` (RowBytes(type, elements)
// bytes) to `out`. Errors: INVALID_ARGUMENT naming a type this reader does
// not decode (the I-quants, Q2_K, Q3_K, Q8_1, Q8_K, ...), or a length that
// is not whole blocks.
absl::Status DequantizeRow(uint32_t type, const uint8_t* data, size_t elements,
                           float* out);

}  // namespace attnr::formats

#endif  // ATTNR_MODEL_FORMATS_GGUF_QUANTS_H_

#ifndef ATTNR_MODEL_FORMATS_GGUF_FILE_H_
#define ATTNR_MODEL_FORMATS_GGUF_FILE_H_

// Reads GGUF files (llama.cpp's model format, versions 2 and 3), memory-
// mapped: a header, typed key/value metadata (architecture, hyper-
// parameters, tokenizer), a tensor directory, then the aligned tensor data
// (plain floats or ggml's block quantisations; model/formats/gguf_quants.h).
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace attnr::formats {

// One metadata value. Integers keep their sign (int64 for the signed
// types, uint64 for the unsigned and bool), floats are double; an array
// holds values of one type.
struct GgufValue {
  enum class Type : uint32_t {
    kUint8 = 0,
    kInt8 = 1,
    kUint16 = 2,
    kInt16 = 3,
    kUint32 = 4,
    kInt32 = 5,
    kFloat32 = 6,
    kBool = 7,
    kString = 8,
    kArray = 9,
    kUint64 = 10,
    kInt64 = 11,
    kFloat64 = 12,
  };
  Type type = Type::kUint8;
  std::variant<uint64_t, int64_t, double, std::string, std::vector<GgufValue>>
      value;
};

struct GgufTensor {
  std::string name;
  // ggml order: dims[0] is the fastest-varying (a row's length).
  std::vector<uint64_t> dims;
  uint32_t type = 0;
  uint64_t elements = 0;
  uint64_t offset = 0;  // From the start of the file.
  uint64_t bytes = 0;
};

class GgufFile {
 public:
  // Maps and parses `path`. Errors: NOT_FOUND; INVALID_ARGUMENT (not GGUF,
  // version 1 or unknown, a tensor type ggml does not define);
  // DATA_LOSS naming the byte offset where the file is truncated or
  // inconsistent (a tensor outside the data, misaligned, a count larger
  // than the file).
  static absl::StatusOr<std::unique_ptr<GgufFile>> Open(
      const std::string& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  const std::vector<std::string>& keys() const { return keys_; }
  const GgufValue* Find(const std::string& key) const;

  // Typed metadata accessors. Errors: NOT_FOUND naming the key,
  // INVALID_ARGUMENT when the stored type does not convert (a negative or
  // float value asked as unsigned, a string as a number, ...).
  absl::StatusOr<std::string> String(const std::string& key) const;
  absl::StatusOr<uint64_t> Uint(const std::string& key) const;
  absl::StatusOr<double> Float(const std::string& key) const;
  absl::StatusOr<bool> Bool(const std::string& key) const;
  absl::StatusOr<std::vector<std::string>> Strings(
      const std::string& key) const;
  absl::StatusOr<std::vector<double>> Floats(const std::string& key) const;
  absl::StatusOr<std::vector<int64_t>> Ints(const std::string& key) const;

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* FindTensor(const std::string& name) const;
  // The tensor's raw bytes inside the mapping (valid while this lives).
  absl::Span<const uint8_t> Data(const GgufTensor& tensor) const;
  // The tensor decoded to float, ggml order. Errors: INVALID_ARGUMENT
  // naming the tensor and its unsupported type.
  absl::StatusOr<std::vector<float>> Dequantize(const GgufTensor& tensor) const;

 private:
  GgufFile() = default;
  // The value of `key`, or NOT_FOUND naming it.
  absl::StatusOr<const GgufValue*> Get(const std::string& key) const;
  // An array's items, each converted (the first failure is returned).
  template <typename T>
  absl::StatusOr<std::vector<T>> Array(
      const std::string& key,
      absl::FunctionRef<absl::StatusOr<T>(const GgufValue&)> convert) const;

  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  std::vector<std::string> keys_;
  absl::flat_hash_map<std::string, GgufValue> metadata_;
  std::vector<GgufTensor> tensors_;
  absl::flat_hash_map<std::string, size_t> tensor_index_;
};

}  // namespace attnr::formats

#endif  // ATTNR_MODEL_FORMATS_GGUF_FILE_H_

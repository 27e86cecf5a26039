#include "model/formats/safetensors_header.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnr::formats {
namespace {

// Larger headers are not model files (the pinned models' are a few KiB).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;
constexpr size_t kMaxRank = 8;

absl::Status Corrupt(const std::string& path, absl::string_view why) {
  return absl::DataLossError(
      absl::StrCat(path, " is not a valid safetensors file: ", why));
}

size_t ElementBytes(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "I64") return 8;
  return 0;
}

}  // namespace

absl::StatusOr<uint64_t> SafetensorsHeaderLength(absl::string_view first_bytes,
                                                 uint64_t file_size,
                                                 const std::string& path) {
  if (first_bytes.size() < 8 || file_size < 8) {
    return Corrupt(path, "shorter than its 8-byte header length");
  }
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) {
    length = (length << 8) | static_cast<unsigned char>(first_bytes[i]);
  }
  if (length > file_size - 8 || length > kMaxHeaderBytes) {
    return Corrupt(
        path, absl::StrCat("header length ", length, " runs past the file's ",
                           file_size, " bytes"));
  }
  return length;
}

absl::StatusOr<std::vector<SafetensorsTensor>> ParseSafetensorsHeader(
    absl::string_view header, uint64_t data_size, const std::string& path) {
  const auto j = nlohmann::json::parse(header, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Corrupt(path, "header is not a JSON object");
  }
  std::vector<SafetensorsTensor> tensors;
  for (const auto& item : j.items()) {
    // Not a structured binding: clang (make fuzz) does not capture those.
    const std::string& name = item.key();
    const nlohmann::json& info = item.value();
    if (name == "__metadata__") continue;
    auto bad = [&](absl::string_view why) {
      return Corrupt(path, absl::StrCat("tensor '", name, "' ", why));
    };
    if (!info.is_object()) return bad("is not a JSON object");
    const auto dtype = info.find("dtype");
    const auto shape = info.find("shape");
    const auto offsets = info.find("data_offsets");
    if (dtype == info.end() || !dtype->is_string() || shape == info.end() ||
        !shape->is_array() || offsets == info.end() || !offsets->is_array() ||
        offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
        !(*offsets)[1].is_number_unsigned()) {
      return bad(
          "lacks a string dtype, an array shape or two unsigned "
          "data_offsets");
    }
    SafetensorsTensor t;
    t.name = name;
    t.dtype = dtype->get<std::string>();
    t.element_bytes = ElementBytes(t.dtype);
    if (t.element_bytes == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": tensor '", name, "' has dtype ", t.dtype,
                       ", which this reader does not take (F32, F16, BF16, "
                       "I64, I32)"));
    }
    if (shape->size() > kMaxRank) {
      return bad(absl::StrCat("has ", shape->size(), " dimensions (at most ",
                              kMaxRank, ")"));
    }
    // The element count, without overflow: it must match the byte range,
    // which lies within the data.
    uint64_t count = 1;
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned()) {
        return bad("has a dimension that is not a non-negative integer");
      }
      const uint64_t dim = d.get<uint64_t>();
      if (dim > data_size || __builtin_mul_overflow(count, dim, &count)) {
        return bad("has a shape larger than the file's data");
      }
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    t.begin = (*offsets)[0].get<uint64_t>();
    t.end = (*offsets)[1].get<uint64_t>();
    uint64_t bytes = 0;
    if (t.begin > t.end || t.end > data_size ||
        __builtin_mul_overflow(count, t.element_bytes, &bytes) ||
        t.end - t.begin != bytes) {
      return bad(absl::StrCat("has byte range [", t.begin, ", ", t.end,
                              ") for ", count, " ", t.dtype, " values in ",
                              data_size, " bytes of data"));
    }
    tensors.push_back(std::move(t));
  }
  return tensors;
}

}  // namespace attnr::formats

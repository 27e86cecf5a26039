#include "model/formats/safetensors_file.h"

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace attnr::formats {

absl::StatusOr<std::map<std::string, torch::Tensor>> ReadSafetensors(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat(path, " is not a valid safetensors file: ", why));
  };
  uint64_t header_size = 0;
  if (size < 8 || !in.read(reinterpret_cast<char*>(&header_size), 8)) {
    return corrupt("shorter than its 8-byte header length");
  }
  if (header_size > size - 8 || header_size > (100u << 20)) {
    return corrupt(absl::StrCat("header length ", header_size,
                                " runs past the file's ", size, " bytes"));
  }
  std::string header(header_size, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_size))) {
    return corrupt("truncated header");
  }
  const auto j = nlohmann::json::parse(header, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt("header is not JSON");
  const uint64_t data_start = 8 + header_size;
  const uint64_t data_size = size - data_start;
  std::vector<char> data(data_size);
  if (!in.read(data.data(), static_cast<std::streamsize>(data_size))) {
    return corrupt("truncated data");
  }
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, info] : j.items()) {
    if (name == "__metadata__") continue;
    if (!info.is_object() || !info.contains("dtype") ||
        !info.contains("shape") || !info.contains("data_offsets")) {
      return corrupt(absl::StrCat("tensor '", name,
                                  "' lacks dtype, shape or "
                                  "data_offsets"));
    }
    const std::string dtype = info["dtype"];
    torch::ScalarType type;
    size_t element = 0;
    if (dtype == "F32") {
      type = torch::kFloat32, element = 4;
    } else if (dtype == "F16") {
      type = torch::kFloat16, element = 2;
    } else if (dtype == "BF16") {
      type = torch::kBFloat16, element = 2;
    } else if (dtype == "I64") {
      type = torch::kInt64, element = 8;
    } else if (dtype == "I32") {
      type = torch::kInt32, element = 4;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": tensor '", name, "' has dtype ", dtype,
                       ", which this reader does not take (F32, F16, BF16, "
                       "I64, I32)"));
    }
    std::vector<int64_t> shape;
    uint64_t count = 1;
    for (const auto& d : info["shape"]) {
      const int64_t dim = d.get<int64_t>();
      if (dim < 0) return corrupt(absl::StrCat("negative dimension in ", name));
      shape.push_back(dim);
      count *= static_cast<uint64_t>(dim);
    }
    const uint64_t begin = info["data_offsets"][0].get<uint64_t>();
    const uint64_t end = info["data_offsets"][1].get<uint64_t>();
    if (begin > end || end > data_size || end - begin != count * element) {
      return corrupt(absl::StrCat("tensor '", name, "' has byte range [", begin,
                                  ", ", end, ") for ", count, " ", dtype,
                                  " values in ", data_size, " bytes of data"));
    }
    torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
    std::memcpy(t.data_ptr(), data.data() + begin, end - begin);
    if (type == torch::kFloat16 || type == torch::kBFloat16) {
      t = t.to(torch::kFloat32);
    }
    out.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace attnr::formats

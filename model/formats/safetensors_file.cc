#include "model/formats/safetensors_file.h"

#include <cstring>
#include <fstream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/formats/safetensors_header.h"
#include "model/runtime/status_macros.h"

namespace attnr::formats {

absl::StatusOr<std::map<std::string, torch::Tensor>> ReadSafetensors(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  char first[8] = {};
  in.read(first, 8);
  ASSIGN_OR_RETURN(
      auto header_size,
      SafetensorsHeaderLength(
          absl::string_view(first, static_cast<size_t>(in.gcount())), size,
          path));
  std::string header(header_size, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_size))) {
    return absl::DataLossError(
        absl::StrCat(path,
                     " is not a valid safetensors file: truncated "
                     "header"));
  }
  const uint64_t data_size = size - 8 - header_size;
  ASSIGN_OR_RETURN(auto tensors,
                   ParseSafetensorsHeader(header, data_size, path));
  std::vector<char> data(data_size);
  if (!in.read(data.data(), static_cast<std::streamsize>(data_size))) {
    return absl::DataLossError(
        absl::StrCat(path, " is not a valid safetensors file: truncated data"));
  }
  std::map<std::string, torch::Tensor> out;
  for (const SafetensorsTensor& info : tensors) {
    torch::ScalarType type = torch::kFloat32;
    if (info.dtype == "F16") type = torch::kFloat16;
    if (info.dtype == "BF16") type = torch::kBFloat16;
    if (info.dtype == "I64") type = torch::kInt64;
    if (info.dtype == "I32") type = torch::kInt32;
    torch::Tensor t =
        torch::empty(info.shape, torch::TensorOptions().dtype(type));
    std::memcpy(t.data_ptr(), data.data() + info.begin, info.end - info.begin);
    if (type == torch::kFloat16 || type == torch::kBFloat16) {
      t = t.to(torch::kFloat32);
    }
    out.emplace(info.name, std::move(t));
  }
  return out;
}

}  // namespace attnr::formats

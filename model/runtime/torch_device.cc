#include "model/runtime/torch_device.h"

#include "absl/strings/str_cat.h"

namespace attnr::runtime {

absl::StatusOr<torch::Device> ParseDevice(const std::string& name) {
  if (name.empty()) return torch::Device(torch::kCPU);
  try {
    const torch::Device device(name);
    if (device.is_cpu()) return device;
    if (!device.is_cuda()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device '", name, "': only \"cpu\" and \"cuda[:N]\" are served"));
    }
    if (!torch::cuda::is_available()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device '", name,
          "': no CUDA device is available (a CPU build of LibTorch, or no "
          "GPU on this machine)"));
    }
    const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
    if (device.has_index() && device.index() >= count) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device '", name, "': this machine has ", count, " CUDA device(s)"));
    }
    return device;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("device '", name, "': ", e.what()));
  }
}

}  // namespace attnr::runtime

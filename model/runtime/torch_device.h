#ifndef ATTNR_MODEL_RUNTIME_TORCH_DEVICE_H_
#define ATTNR_MODEL_RUNTIME_TORCH_DEVICE_H_

#include <string>

#include "absl/status/statusor.h"
#include "torch/torch.h"

namespace attnr::runtime {

// The LibTorch device a model's config names: "cpu" (also ""), "cuda" or
// "cuda:N". INVALID_ARGUMENT, naming the device, for a name LibTorch does
// not parse, and for CUDA when this LibTorch has no CUDA or the machine no
// such GPU: refused at load, not at the first request.
absl::StatusOr<torch::Device> ParseDevice(const std::string& name);

}  // namespace attnr::runtime

#endif  // ATTNR_MODEL_RUNTIME_TORCH_DEVICE_H_

#include "model/runtime/torch_device.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::runtime {
namespace {

using ::testing::HasSubstr;

TEST(TorchDeviceTest, CpuAndEmptyAreTheCpu) {
  for (const char* name : {"cpu", ""}) {
    auto device = ParseDevice(name);
    ASSERT_TRUE(device.ok()) << device.status();
    EXPECT_TRUE(device->is_cpu());
  }
}

TEST(TorchDeviceTest, UnknownDevicesAreRefusedByName) {
  for (const char* name : {"gpu", "cuda:x", "mps"}) {
    auto device = ParseDevice(name);
    EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument)
        << name;
    EXPECT_THAT(device.status().message(),
                HasSubstr(absl::StrCat("device '", name, "'")));
  }
}

// Without a GPU (CI, this build) CUDA is refused at load with why, not at
// the first request.
TEST(TorchDeviceTest, CudaWithoutAGpuIsRefusedSayingWhy) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a CUDA device is here";
  auto device = ParseDevice("cuda");
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(device.status().message(), HasSubstr("no CUDA device"));
}

}  // namespace
}  // namespace attnr::runtime

// The safetensors header checks: a well-formed header gives each tensor's
// dtype, shape and byte range; malformed ones (wrong JSON types, shapes
// whose element count overflows, ranges past the data) are refused with
// DATA_LOSS naming the tensor, never an exception.
#include "model/formats/safetensors_header.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::formats {
namespace {

using ::testing::HasSubstr;

TEST(SafetensorsHeaderTest, ReadsEveryTensorByName) {
  auto t = ParseSafetensorsHeader(
      R"({"__metadata__": {"format": "pt"},
          "b": {"dtype": "F16", "shape": [2, 2], "data_offsets": [24, 32]},
          "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}})",
      32, "m.safetensors");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].name, "a");
  EXPECT_EQ((*t)[0].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ((*t)[0].element_bytes, 4u);
  EXPECT_EQ((*t)[0].end, 24u);
  EXPECT_EQ((*t)[1].name, "b");
  EXPECT_EQ((*t)[1].element_bytes, 2u);
  EXPECT_EQ((*t)[1].begin, 24u);
}

TEST(SafetensorsHeaderTest, RefusesMalformedHeadersWithDataLoss) {
  const struct {
    const char* header;
    const char* message;
  } cases[] = {
      {"[1, 2]", "header is not a JSON object"},
      {R"({"x": 3})", "tensor 'x' is not a JSON object"},
      {R"({"x": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}})",
       "tensor 'x' lacks a string dtype"},
      {R"({"x": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}})",
       "lacks a string dtype, an array shape"},
      {R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})",
       "two unsigned data_offsets"},
      {R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})",
       "two unsigned data_offsets"},
      {R"({"x": {"dtype": "F32", "shape": ["1"], "data_offsets": [0, 4]}})",
       "not a non-negative integer"},
      {R"({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})",
       "not a non-negative integer"},
      // 2^32 x 2^32 elements wraps a 64-bit count to 0.
      {R"({"x": {"dtype": "F32", "shape": [64, 4294967296, 4294967296],
                 "data_offsets": [0, 0]}})",
       "larger than the file's data"},
      {R"({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
       "byte range [0, 16) for 4 F32 values in 8 bytes"},
      {R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}})",
       "byte range [0, 8) for 1 F32 values"},
      {"{not json", "header is not a JSON object"},
  };
  for (const auto& c : cases) {
    auto t = ParseSafetensorsHeader(c.header, 8, "m.safetensors");
    ASSERT_FALSE(t.ok()) << c.header;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kDataLoss) << c.header;
    EXPECT_THAT(t.status().message(), HasSubstr(c.message)) << c.header;
    EXPECT_THAT(t.status().message(), HasSubstr("m.safetensors"));
  }
}

TEST(SafetensorsHeaderTest, NamesADtypeItDoesNotTake) {
  auto t = ParseSafetensorsHeader(
      R"({"x": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}})", 8,
      "m.safetensors");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(t.status().message(), HasSubstr("dtype F8_E4M3"));
}

TEST(SafetensorsHeaderTest, HeaderLengthMustFitTheFile) {
  const std::string eight("\x10\0\0\0\0\0\0\0", 8);  // 16
  EXPECT_EQ(*SafetensorsHeaderLength(eight, 8 + 16, "m"), 16u);
  EXPECT_EQ(SafetensorsHeaderLength(eight, 8 + 15, "m").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_THAT(SafetensorsHeaderLength("abc", 3, "m").status().message(),
              HasSubstr("shorter than its 8-byte header length"));
  const std::string huge("\xff\xff\xff\xff\xff\xff\xff\xff", 8);
  EXPECT_THAT(SafetensorsHeaderLength(huge, 1000, "m").status().message(),
              HasSubstr("runs past the file's 1000 bytes"));
}

}  // namespace
}  // namespace attnr::formats

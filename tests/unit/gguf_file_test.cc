// The GGUF reader against gguf-py (llama.cpp's own Python reader/writer) on
// the committed vectors (tests/vectors/make_gguf_vectors.py): every decoded
// quantisation type, a small file with every metadata type, the pinned
// SmolLM2 file; and refusals that name what is wrong.
#include "model/formats/gguf_file.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/formats/gguf_quants.h"
#include "tests/unit/pretrained_model_folder.h"

namespace attnr::formats {
namespace {

using ::testing::HasSubstr;

std::string VectorPath(const std::string& name) {
  return std::string(std::getenv("ATTNR_SOURCE_DIR")) + "/tests/vectors/" +
         name;
}

nlohmann::json ReadJson(const std::string& name) {
  std::ifstream in(VectorPath(name));
  return nlohmann::json::parse(in);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string WriteTemp(const std::string& bytes) {
  char name[] = "/tmp/gguf_file_test.XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, bytes.data(), bytes.size()),
            static_cast<ssize_t>(bytes.size()));
  close(fd);
  return name;
}

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

TEST(GgufQuantsTest, EveryDecodedTypeMatchesGgufPy) {
  const nlohmann::json vectors = ReadJson("gguf_quants.json")["vectors"];
  ASSERT_EQ(vectors.size(), 11u);
  for (const auto& v : vectors) {
    SCOPED_TRACE(v["type"].get<std::string>());
    const std::vector<uint8_t> raw = FromHex(v["raw_hex"]);
    const size_t n = v["elements"];
    const uint32_t type = v["type_id"];
    absl::StatusOr<GgmlTypeInfo> info = TypeInfo(type);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->name, v["type"].get<std::string>());
    ASSERT_EQ(*RowBytes(type, n), raw.size());
    std::vector<float> out(n, -999.0f);
    ASSERT_TRUE(DequantizeRow(type, raw.data(), n, out.data()).ok());
    const std::vector<double> want = v["values"];
    double worst = 0;
    for (size_t i = 0; i < n; ++i) {
      worst = std::max(worst, std::abs(out[i] - want[i]) /
                                  std::max(1e-6, std::abs(want[i])));
    }
    EXPECT_LT(worst, 1e-5);
  }
}

TEST(GgufQuantsTest, RefusesWhatItCannotDecodeByName) {
  std::vector<float> out(256);
  std::vector<uint8_t> raw(256);
  absl::Status s = DequantizeRow(23, raw.data(), 256, out.data());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("IQ4_XS"));
  s = DequantizeRow(static_cast<uint32_t>(GgmlType::kQ3_K), raw.data(), 256,
                    out.data());
  EXPECT_THAT(s.message(), HasSubstr("Q3_K"));
  EXPECT_EQ(TypeInfo(99).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      RowBytes(static_cast<uint32_t>(GgmlType::kQ4_0), 33).status().message(),
      HasSubstr("whole Q4_0 blocks"));
}

TEST(GgufFileTest, ReadsWhatGgufPyWrote) {
  const nlohmann::json want = ReadJson("tiny_gguf.json");
  absl::StatusOr<std::unique_ptr<GgufFile>> file =
      GgufFile::Open(VectorPath("tiny.gguf"));
  ASSERT_TRUE(file.ok()) << file.status();
  const GgufFile& f = **file;
  EXPECT_EQ(f.version(), want["version"].get<uint32_t>());
  EXPECT_EQ(*f.String("general.architecture"), "llama");
  const auto& m = want["metadata"];
  EXPECT_EQ(*f.Uint("test.u8"), m["test.u8"].get<uint64_t>());
  EXPECT_EQ(*f.Uint("test.u16"), m["test.u16"].get<uint64_t>());
  EXPECT_EQ(*f.Uint("test.u32"), m["test.u32"].get<uint64_t>());
  EXPECT_EQ(*f.Uint("test.u64"), m["test.u64"].get<uint64_t>());
  EXPECT_EQ(*f.Float("test.i8"), m["test.i8"].get<double>());
  EXPECT_EQ(*f.Float("test.i16"), m["test.i16"].get<double>());
  EXPECT_EQ(*f.Float("test.i32"), m["test.i32"].get<double>());
  EXPECT_EQ(*f.Float("test.i64"), m["test.i64"].get<double>());
  EXPECT_FLOAT_EQ(*f.Float("test.f32"), m["test.f32"].get<double>());
  EXPECT_DOUBLE_EQ(*f.Float("test.f64"), m["test.f64"].get<double>());
  EXPECT_EQ(*f.Bool("test.bool"), true);
  EXPECT_EQ(*f.String("test.string"), m["test.string"].get<std::string>());
  EXPECT_EQ(*f.Strings("test.strings"),
            m["test.strings"].get<std::vector<std::string>>());
  EXPECT_EQ(*f.Ints("test.ints"), m["test.ints"].get<std::vector<int64_t>>());
  EXPECT_EQ(*f.Floats("test.floats"),
            m["test.floats"].get<std::vector<double>>());

  // Typed access refuses what does not convert, naming the key.
  EXPECT_EQ(f.Uint("test.i8").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(f.Uint("test.string").status().message(),
              HasSubstr("test.string"));
  EXPECT_EQ(f.String("no.such.key").status().code(),
            absl::StatusCode::kNotFound);

  ASSERT_EQ(f.tensors().size(), want["tensors"].size());
  for (const auto& t : want["tensors"]) {
    SCOPED_TRACE(t["name"].get<std::string>());
    const GgufTensor* tensor = f.FindTensor(t["name"]);
    ASSERT_NE(tensor, nullptr);
    EXPECT_EQ(tensor->dims, t["dims"].get<std::vector<uint64_t>>());
    EXPECT_EQ(TypeInfo(tensor->type)->name, t["type"].get<std::string>());
    EXPECT_EQ(tensor->offset, t["offset"].get<uint64_t>());
    absl::StatusOr<std::vector<float>> values = f.Dequantize(*tensor);
    ASSERT_TRUE(values.ok()) << values.status();
    const std::vector<double> expected = t["values"];
    ASSERT_EQ(values->size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_NEAR((*values)[i], expected[i],
                  1e-6 * (1 + std::abs(expected[i])));
    }
  }
}

TEST(GgufFileTest, RefusesDamagedFilesNamingTheOffset) {
  const std::string good = ReadBytes(VectorPath("tiny.gguf"));
  ASSERT_GT(good.size(), 200u);

  // Cut inside the metadata: DATA_LOSS with the byte offset.
  std::string path = WriteTemp(good.substr(0, 150));
  absl::Status s = GgufFile::Open(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("at byte"));
  std::remove(path.c_str());

  // Cut inside the last tensor's data: that tensor is named.
  const nlohmann::json want = ReadJson("tiny_gguf.json");
  path = WriteTemp(
      good.substr(0, want["tensors"].back()["offset"].get<size_t>() + 10));
  s = GgufFile::Open(path).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("d.q4_1"));
  std::remove(path.c_str());

  // Not GGUF, and an unsupported version.
  path = WriteTemp("GGML" + good.substr(4));
  EXPECT_THAT(GgufFile::Open(path).status().message(), HasSubstr("not a GGUF"));
  std::remove(path.c_str());
  std::string v1 = good;
  v1[4] = 1;
  path = WriteTemp(v1);
  EXPECT_THAT(GgufFile::Open(path).status().message(),
              HasSubstr("version 1 is not supported"));
  std::remove(path.c_str());

  // A metadata count no file could hold.
  std::string huge = good;
  huge[16 + 7] = 0x7f;
  path = WriteTemp(huge);
  EXPECT_EQ(GgufFile::Open(path).status().code(), absl::StatusCode::kDataLoss);
  std::remove(path.c_str());

  EXPECT_EQ(GgufFile::Open("/nonexistent/x.gguf").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(GgufFileTest, ReadsThePinnedSmolLm2File) {
  const nlohmann::json want = ReadJson("smollm2_gguf.json");
  const std::string path = PretrainedModelFolder("smollm2-135m-instruct-q4_1") +
                           "/SmolLM2-135M-Instruct.Q4_1.gguf";
  absl::StatusOr<std::unique_ptr<GgufFile>> file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status() << " (run `make models` first)";
  const GgufFile& f = **file;
  EXPECT_EQ(f.tensors().size(), want["tensor_count"].get<size_t>());
  EXPECT_EQ(*f.String("general.architecture"), "llama");
  EXPECT_EQ(*f.Uint("llama.block_count"), 30u);
  EXPECT_EQ(*f.Uint("llama.attention.head_count_kv"), 3u);
  EXPECT_FLOAT_EQ(*f.Float("llama.rope.freq_base"), 100000.0f);
  EXPECT_EQ(f.Strings("tokenizer.ggml.tokens")->size(), 49152u);
  EXPECT_EQ(f.Strings("tokenizer.ggml.merges")->size(), 48900u);
  for (const auto& t : want["tensors"]) {
    SCOPED_TRACE(t["name"].get<std::string>());
    const GgufTensor* tensor = f.FindTensor(t["name"]);
    ASSERT_NE(tensor, nullptr);
    EXPECT_EQ(tensor->dims, t["dims"].get<std::vector<uint64_t>>());
    EXPECT_EQ(TypeInfo(tensor->type)->name, t["type"].get<std::string>());
    absl::StatusOr<std::vector<float>> values = f.Dequantize(*tensor);
    ASSERT_TRUE(values.ok()) << values.status();
    const std::vector<double> first = t["first"];
    for (size_t i = 0; i < first.size(); ++i) {
      EXPECT_FLOAT_EQ((*values)[i], first[i]);
    }
    double sum = 0, abs_sum = 0;
    for (float v : *values) {
      sum += v;
      abs_sum += std::abs(v);
    }
    EXPECT_NEAR(abs_sum, t["abs_sum"].get<double>(),
                1e-6 * t["abs_sum"].get<double>());
    EXPECT_NEAR(sum, t["sum"].get<double>(), 1e-6 * t["abs_sum"].get<double>());
    EXPECT_FLOAT_EQ(values->back(), t["last"].get<double>());
  }
}

}  // namespace
}  // namespace attnr::formats

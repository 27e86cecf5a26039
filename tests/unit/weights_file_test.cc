// Loading the shipped weights, and refusing a file whose tensors do not
// match the architecture its header declares. Under the sanitizer build this
// is also the regression test of a use-after-free in the shape check.
#include "model/network/weights_file.h"

#include <cstdlib>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::network {
namespace {

using ::testing::HasSubstr;

std::string ShippedWeights() {
  return std::string(std::getenv("ATTNR_SOURCE_DIR")) +
         "/model/weights/attnr-attention-1.2.0.bin";
}

TEST(WeightsFileTest, LoadsTheShippedWeights) {
  auto model = LoadWeights(ShippedWeights());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->header.name, "attnr-attention");
  EXPECT_EQ(model->header.version, "1.2.0");
  EXPECT_EQ(model->sha256.size(), 64u);
  EXPECT_GT(model->vocabulary.word_count(), 1000u);
}

TEST(WeightsFileTest, RefusesTensorsThatDoNotMatchTheDeclaredShapes) {
  auto model = LoadWeights(ShippedWeights());
  ASSERT_TRUE(model.ok()) << model.status();
  ModelHeader header = model->header;
  header.encoder.ffn += 8;  // Declares a wider feed-forward than is stored.
  const std::string path =
      std::string(::testing::TempDir()) + "/mismatched-weights.bin";
  ASSERT_TRUE(
      SaveWeights(path, header, model->vocabulary, model->encoder).ok());
  auto loaded = LoadWeights(path);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("does not match the encoder it declares"));
}

TEST(WeightsFileTest, RefusesADamagedFile) {
  auto missing = LoadWeights("/nonexistent/weights.bin");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace attnr::network

#include "model/runtime/status_macros.h"

#include <string>

#include "gtest/gtest.h"
#include "model/runtime/digest.h"
#include "model/runtime/limit_error.h"

namespace attnr::runtime {
namespace {

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  ASSIGN_OR_RETURN(const int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n) {
  RETURN_IF_ERROR(Half(n).status());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, ReturnTheFirstErrorOrBindTheValue) {
  EXPECT_EQ(*Quarter(12), 3);
  EXPECT_EQ(Quarter(6).status().message(), "odd");  // 6 -> 3 -> odd.
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), absl::StatusCode::kInvalidArgument);
}

TEST(LimitErrorTest, NamesItsSettingInAPayloadNotJustTheMessage) {
  const absl::Status s = LimitError("max_request_tokens", "over the limit");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ExceededLimit(s), "max_request_tokens");
  // The same text without the payload is not a limit error.
  EXPECT_EQ(ExceededLimit(absl::ResourceExhaustedError(
                "over the limit (max_request_tokens)")),
            std::nullopt);
}

TEST(PinnedDigestTest, OneCheckForEveryPinnedFile) {
  const std::string digest = Sha256Hex("weights");
  EXPECT_TRUE(CheckPinnedSha256("f.json", digest, "", "x_sha256").ok());
  EXPECT_TRUE(CheckPinnedSha256("f.json", digest, digest, "x_sha256").ok());
  const absl::Status s =
      CheckPinnedSha256("f.json", digest, Sha256Hex("other"), "x_sha256");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("f.json has SHA-256 " + digest), std::string::npos)
      << s;
  EXPECT_NE(s.message().find("(x_sha256)"), std::string::npos) << s;
}

}  // namespace
}  // namespace attnr::runtime

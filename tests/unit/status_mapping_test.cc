#include "server/status_mapping.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace attnr::server {
namespace {

TEST(StatusMappingTest, GrpcMapsCodeForCodeAndKeepsTheMessage) {
  const grpc::Status s =
      ToGrpcStatus(absl::ResourceExhaustedError("over the limit"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "over the limit");
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("x")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::DeadlineExceededError("x")).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(StatusMappingTest, HttpCodesFollowTheCanonicalCodes) {
  EXPECT_EQ(ToHttpStatus(absl::OkStatus()), 200);
  EXPECT_EQ(ToHttpStatus(absl::InvalidArgumentError("x")), 400);
  EXPECT_EQ(ToHttpStatus(absl::UnauthenticatedError("x")), 401);
  EXPECT_EQ(ToHttpStatus(absl::NotFoundError("x")), 404);
  EXPECT_EQ(ToHttpStatus(absl::UnavailableError("x")), 503);
  EXPECT_EQ(ToHttpStatus(absl::DeadlineExceededError("x")), 504);
  EXPECT_EQ(ToHttpStatus(absl::InternalError("x")), 500);
}

TEST(StatusMappingTest, SizeLimitIs413AndOverloadIs429WithItsWait) {
  const absl::Status limit = absl::ResourceExhaustedError("query: too long");
  EXPECT_EQ(ToHttpStatus(limit), 413);
  EXPECT_EQ(RetryAfterOf(limit), absl::ZeroDuration());

  const absl::Status busy =
      OverloadedError("server busy", absl::Milliseconds(1500));
  EXPECT_TRUE(absl::IsResourceExhausted(busy));
  EXPECT_EQ(busy.message(), "server busy");
  EXPECT_EQ(ToHttpStatus(busy), 429);
  EXPECT_EQ(RetryAfterOf(busy), absl::Seconds(2));  // Rounded up.
  // Through gRPC both stay RESOURCE_EXHAUSTED with the message.
  EXPECT_EQ(ToGrpcStatus(busy).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

}  // namespace
}  // namespace attnr::server

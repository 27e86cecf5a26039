// The frontend's branches in process: no transport, the real retriever
// (BM25 only: no model files), the real worker pools.
#include "server/frontend.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/retriever.h"
#include "server/auth_tokens.h"
#include "server/server_config.h"

namespace attnr::server {
namespace {

using ::testing::HasSubstr;

class FrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = DefaultServerConfig();
    frontend_ = std::make_unique<Frontend>(config_);
    RetrieverConfig rc;
    rc.model_version = "test";
    auto retriever = Retriever::Create(rc);
    ASSERT_TRUE(retriever.ok()) << retriever.status();
    retriever_ = *std::move(retriever);
  }

  // One Retrieve through the frontend, as a transport makes it.
  absl::Status Retrieve(const attnr::v1::RetrieveRequest& request,
                        absl::string_view authorization = "",
                        attnr::v1::RetrieveResponse* response = nullptr) {
    attnr::v1::RetrieveResponse own;
    if (response == nullptr) response = &own;
    auto call = std::make_unique<FrontendCall>(
        frontend_.get(), "test", "Retrieve", "peer", absl::InfiniteFuture(),
        authorization);
    absl::Notification done;
    absl::Status status;
    frontend_->Retrieve(call.get(), &request, response,
                        [&](const absl::Status& s) {
                          status = s;
                          done.Notify();
                        });
    done.WaitForNotification();
    return status;
  }

  static attnr::v1::RetrieveRequest Request(const std::string& text) {
    attnr::v1::RetrieveRequest request;
    request.set_query("espresso grinder");
    request.add_documents()->set_text(text);
    return request;
  }

  attnr::v1::ServerConfig config_;
  std::unique_ptr<Frontend> frontend_;
  std::unique_ptr<Retriever> retriever_;
};

TEST_F(FrontendTest, LoadingThenServingThenDraining) {
  const auto request = Request("Descale the espresso grinder every week.");
  const absl::Status loading = Retrieve(request);
  EXPECT_EQ(loading.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(loading.message(), HasSubstr("still loading"));

  frontend_->SetRetriever(retriever_.get());
  attnr::v1::RetrieveResponse response;
  ASSERT_TRUE(Retrieve(request, "", &response).ok());
  ASSERT_EQ(response.passages_size(), 1);
  EXPECT_EQ(response.model(), "attnr/test");

  frontend_->StartDraining();
  const absl::Status draining = Retrieve(request);
  EXPECT_EQ(draining.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(draining.message(), HasSubstr("shutting down"));
}

TEST_F(FrontendTest, AModelErrorIsNamedByItsApiField) {
  // Caught by the model (a document over its token limit), named in the
  // API's terms on the way out.
  config_.set_max_document_tokens(5);
  frontend_ = std::make_unique<Frontend>(config_);
  RetrieverConfig rc;
  rc.limits.max_document_tokens = 5;
  auto small = Retriever::Create(rc);
  ASSERT_TRUE(small.ok());
  frontend_->SetRetriever(small->get());
  auto request = Request("fine");
  request.add_documents()->set_text("one two three four five six seven");
  const absl::Status status = Retrieve(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(),
              HasSubstr("documents[1]: has more tokens than the limit of 5"));
}

TEST_F(FrontendTest, TokensAreCheckedBeforeAnyWork) {
  char path[] = "/tmp/attnr_tokens_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "ci:s3cret-token-value-of-some-length\n";
  auto tokens = AuthTokens::Load(path);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  frontend_->SetAuthTokens(*std::move(tokens));
  frontend_->SetRetriever(retriever_.get());
  const auto request = Request("Descale the espresso grinder every week.");
  EXPECT_EQ(Retrieve(request).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Retrieve(request, "Bearer wrong").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(
      Retrieve(request, "Bearer s3cret-token-value-of-some-length").ok());
  std::remove(path);
}

}  // namespace
}  // namespace attnr::server

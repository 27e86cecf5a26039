// The frontend's branches in process: no transport, the real retriever
// (BM25 only: no model files), the real worker pools.
#include "server/frontend.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
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
                        attnr::v1::RetrieveResponse* response = nullptr,
                        absl::Time deadline = absl::InfiniteFuture()) {
    attnr::v1::RetrieveResponse own;
    if (response == nullptr) response = &own;
    auto call = std::make_unique<FrontendCall>(
        frontend_.get(), "test", "Retrieve", "peer", deadline, authorization);
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
  config_.mutable_limits()->set_max_document_tokens(5);
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

TEST_F(FrontendTest, AdmissionRefusesPastTheQueueNamingTheLimit) {
  // One worker, one waiting call: of calls sent at once (each ~20k words
  // of BM25 work, so they overlap), the ones past the queue are refused at
  // once, with a retry hint, and the others answered.
  config_.mutable_admission()->set_max_concurrent_requests(1);
  config_.mutable_admission()->set_max_queued_requests(1);
  frontend_ = std::make_unique<Frontend>(config_);
  frontend_->SetRetriever(retriever_.get());
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    absl::StrAppend(&text, "The espresso grinder number ", i,
                    " needs descaling once a week. ");
  }
  const auto request = Request(text);
  constexpr int kCalls = 6;
  std::vector<std::unique_ptr<FrontendCall>> calls;
  std::vector<attnr::v1::RetrieveResponse> responses(kCalls);
  std::vector<absl::Status> statuses(kCalls);
  absl::BlockingCounter done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::make_unique<FrontendCall>(
        frontend_.get(), "test", "Retrieve", absl::StrCat("peer", i),
        absl::InfiniteFuture(), ""));
    frontend_->Retrieve(calls.back().get(), &request, &responses[i],
                        [&, i](const absl::Status& s) {
                          statuses[i] = s;
                          done.DecrementCount();
                        });
  }
  done.Wait();
  int ok = 0, refused = 0;
  for (const absl::Status& s : statuses) {
    if (s.ok()) {
      ++ok;
    } else {
      ++refused;
      EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
      EXPECT_THAT(s.message(), HasSubstr("(max_queued_requests)"));
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(refused, 1);
}

TEST_F(FrontendTest, ACallPastItsDeadlineIsNotStarted) {
  frontend_->SetRetriever(retriever_.get());
  const absl::Status late =
      Retrieve(Request("Descale the espresso grinder every week."), "", nullptr,
               absl::Now() - absl::Seconds(1));
  EXPECT_EQ(late.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(late.message(), HasSubstr("queue"));
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

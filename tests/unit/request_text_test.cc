#include "server/request_text.h"

#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <string>

#include "attnr/server/raw_text.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::server {
namespace {

template <typename Request>
absl::Status Find(const std::string& wire) {
  google::protobuf::io::ArrayInputStream in(wire.data(),
                                            static_cast<int>(wire.size()));
  return FindInvalidText(static_cast<const Request*>(nullptr), &in);
}

TEST(RequestTextTest, TheStringParseFailsAndTheMirrorNamesTheField) {
  raw::RetrieveRequest raw;
  raw.set_query("espresso grinder");
  raw.add_documents()->set_text("fine");
  raw.add_documents()->set_text("ok text \xC3\x28 x");
  const std::string wire = raw.SerializeAsString();
  attnr::v1::RetrieveRequest typed;
  EXPECT_FALSE(typed.ParseFromString(wire));  // `string` fields refuse it.
  const absl::Status s = Find<attnr::v1::RetrieveRequest>(wire);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(s.message()),
      ::testing::StartsWith("documents[1]: invalid UTF-8 at byte offset 8"));

  raw.set_query("espresso \xE2\x82 grinder");  // The query is checked first.
  EXPECT_THAT(
      std::string(
          Find<attnr::v1::RetrieveRequest>(raw.SerializeAsString()).message()),
      ::testing::StartsWith("query: invalid UTF-8 at byte offset 9"));
}

TEST(RequestTextTest, ScorePassagesAndContextAreNamed) {
  raw::ScoreRequest raw;
  raw.set_query("q");
  raw.add_passages()->set_text("good");
  raw.add_passages()->set_text("bad \xFF");
  EXPECT_THAT(
      std::string(
          Find<attnr::v1::ScoreRequest>(raw.SerializeAsString()).message()),
      ::testing::StartsWith(
          "passages[1].text: invalid UTF-8 at byte offset 4"));
  raw.mutable_passages(1)->set_text("fixed");
  raw.mutable_context()->set_id("doc\xFF");
  EXPECT_THAT(
      std::string(
          Find<attnr::v1::ScoreRequest>(raw.SerializeAsString()).message()),
      ::testing::StartsWith("context.id: invalid UTF-8 at byte offset 3"));
}

TEST(RequestTextTest, ValidTextOrNoMessageAtAllIsNotATextError) {
  raw::PrepareRequest raw;
  raw.add_documents()->set_text("caf\xC3\xA9");
  EXPECT_TRUE(Find<attnr::v1::PrepareRequest>(raw.SerializeAsString()).ok());
  EXPECT_TRUE(Find<attnr::v1::PrepareRequest>("\xFF\xFF\xFF").ok());
}

}  // namespace
}  // namespace attnr::server

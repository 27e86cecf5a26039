#include "model/views/view_registry.h"

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "proto/attnr/v1/retriever.pb.h"

namespace attnr {
namespace {

// The registry is the one table of views: it must agree with the public
// API's enum name for name and number, in both directions.
TEST(ViewRegistryTest, EveryRowMatchesTheProtoEnum) {
  std::set<int> numbers;
  for (const ViewInfo& v : AllViews()) {
    attnr::v1::ScoringView parsed;
    ASSERT_TRUE(attnr::v1::ScoringView_Parse(
        std::string("SCORING_VIEW_") + v.name, &parsed))
        << v.name;
    EXPECT_EQ(static_cast<int>(parsed), v.proto_number) << v.name;
    EXPECT_EQ(absl::AsciiStrToLower(v.name), v.cli_name);
    EXPECT_TRUE(numbers.insert(v.proto_number).second) << v.name;
    EXPECT_EQ(InfoOf(v.kind).name, v.name);
    EXPECT_EQ(ViewFromCliName(v.cli_name), v.kind);
    EXPECT_EQ(ViewFromProtoNumber(v.proto_number), v.kind);
  }
  const google::protobuf::EnumDescriptor* e =
      attnr::v1::ScoringView_descriptor();
  for (int i = 0; i < e->value_count(); ++i) {
    if (e->value(i)->number() == 0) continue;
    EXPECT_TRUE(ViewFromProtoNumber(e->value(i)->number()).has_value())
        << e->value(i)->name() << " has no row in the registry";
  }
}

TEST(ViewRegistryTest, UnknownNamesAndNumbersAreRefused) {
  EXPECT_FALSE(ViewFromCliName("bm25").has_value());
  EXPECT_FALSE(ViewFromCliName("LEXICAL").has_value());
  EXPECT_FALSE(ViewFromProtoNumber(0).has_value());
  EXPECT_FALSE(ViewFromProtoNumber(99).has_value());
  EXPECT_STREQ(ViewName(ViewKind::kDense), "DENSE");
}

}  // namespace
}  // namespace attnr

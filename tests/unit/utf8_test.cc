#include "model/text/utf8.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::text {
namespace {

using ::testing::HasSubstr;

TEST(ValidateUtf8Test, AcceptsAsciiMultiByteAndEmoji) {
  EXPECT_TRUE(ValidateUtf8("plain ascii").ok());
  EXPECT_TRUE(ValidateUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80").ok());
  EXPECT_TRUE(ValidateUtf8("").ok());
}

TEST(ValidateUtf8Test, NamesTheByteOffsetOfTheFirstBadSequence) {
  const absl::Status s = ValidateUtf8(std::string("abc\xFFxyz"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("byte offset 3"));
}

TEST(ValidateUtf8Test, RejectsTruncatedOverlongSurrogateAndTooLarge) {
  EXPECT_THAT(ValidateUtf8("ab\xE2\x82").message(), HasSubstr("offset 2"));
  EXPECT_THAT(ValidateUtf8("\xC0\xAF").message(), HasSubstr("overlong"));
  EXPECT_THAT(ValidateUtf8("x\xED\xA0\x80").message(), HasSubstr("surrogate"));
  EXPECT_THAT(ValidateUtf8("\xF4\x90\x80\x80").message(),
              HasSubstr("U+10FFFF"));
  EXPECT_THAT(ValidateUtf8("\xE2(\xA1").message(),
              HasSubstr("missing continuation byte at offset 1"));
}

TEST(Utf8IndexTest, MapsBytesToCodePointsAndBack) {
  // "a" (1 byte), "é" (2), "€" (3), "😀" (4), "b" (1).
  const std::string text =
      "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"
      "b";
  Utf8Index index(text);
  EXPECT_EQ(index.char_count(), 5u);
  EXPECT_EQ(index.byte_count(), 11u);
  const uint32_t starts[] = {0, 1, 3, 6, 10, 11};
  for (uint32_t ch = 0; ch <= 5; ++ch) {
    EXPECT_EQ(index.ByteAt(ch), starts[ch]);
    EXPECT_EQ(index.CharAt(starts[ch]), ch);
    EXPECT_TRUE(index.IsBoundary(starts[ch]));
  }
  EXPECT_FALSE(index.IsBoundary(2));
  EXPECT_FALSE(index.IsBoundary(8));
  EXPECT_EQ(CountCodePoints(text), 5u);
}

TEST(Utf8Test, DecodeAndAppendRoundTrip) {
  for (char32_t cp : {U'A', U'\u00E9', U'\u20AC', U'\U0001F600'}) {
    std::string s;
    AppendUtf8(cp, &s);
    char32_t back;
    EXPECT_EQ(DecodeUtf8(s, 0, &back), static_cast<int>(s.size()));
    EXPECT_EQ(back, cp);
  }
}

}  // namespace
}  // namespace attnr::text

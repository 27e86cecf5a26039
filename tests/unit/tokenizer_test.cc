#include "model/text/tokenizer.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::text {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Norms(const std::vector<Token>& tokens) {
  std::vector<std::string> out;
  for (const Token& t : tokens) out.push_back(t.norm);
  return out;
}

TEST(TokenizerTest, WordsNumbersAndJoiners) {
  EXPECT_THAT(Norms(Tokenize("Don't run git_config at 3.14, or 10,000 times!")),
              ElementsAre("don't", "run", "git_config", "at", "3.14", "or",
                          "10,000", "times"));
}

TEST(TokenizerTest, HyphensAndTrailingPunctuationSplit) {
  EXPECT_THAT(Norms(Tokenize("long-document retrieval. 'quoted' end.")),
              ElementsAre("long", "document", "retrieval", "quoted", "end"));
}

TEST(TokenizerTest, LowerCasesBeyondAscii) {
  EXPECT_THAT(Norms(Tokenize("\xC3\x89T\xC3\x89 \xCE\x91\xCE\x92 \xD0\x9F")),
              ElementsAre("\xC3\xA9t\xC3\xA9", "\xCE\xB1\xCE\xB2", "\xD0\xBF"));
}

TEST(TokenizerTest, OffsetsAreExactWithMultiByteTextAndEmoji) {
  // "né 😀 x€y 中文"
  const std::string text =
      "n\xC3\xA9 \xF0\x9F\x98\x80 x\xE2\x82\xACy \xE4\xB8\xAD\xE6\x96\x87";
  const std::vector<Token> tokens = Tokenize(text);
  // The emoji and the euro sign are separators; each ideograph is a token.
  ASSERT_THAT(Norms(tokens), ElementsAre("n\xC3\xA9", "x", "y", "\xE4\xB8\xAD",
                                         "\xE6\x96\x87"));
  EXPECT_EQ(tokens[0].span.begin_byte, 0u);
  EXPECT_EQ(tokens[0].span.end_byte, 3u);
  EXPECT_EQ(tokens[0].span.end_char, 2u);
  EXPECT_EQ(tokens[1].span.begin_byte, 9u);  // After "né 😀 ".
  EXPECT_EQ(tokens[1].span.begin_char, 5u);
  EXPECT_EQ(tokens[2].span.begin_byte, 13u);
  EXPECT_EQ(tokens[2].span.begin_char, 7u);
  EXPECT_EQ(tokens[3].span.begin_char, 9u);
  EXPECT_EQ(tokens[4].span.end_char, 11u);
  EXPECT_EQ(tokens[4].span.end_byte, text.size());
  for (const Token& t : tokens) {
    // Slicing by bytes gives the surface form (all lower-case here).
    EXPECT_EQ(text.substr(t.span.begin_byte, t.span.byte_length()), t.norm);
  }
}

TEST(TokenizerTest, ApostropheOnlyBetweenLetters) {
  EXPECT_THAT(Norms(Tokenize("the users' files, 'tis \xE2\x80\x99"
                             "90s")),
              ElementsAre("the", "users", "files", "tis", "90s"));
}

TEST(TokenizerTest, AByteOrderMarkDoesNotGlueOntoTheFirstWord) {
  const std::string text =
      "\xEF\xBB\xBF"
      "Committee minutes";
  const std::vector<Token> tokens = Tokenize(text);
  EXPECT_THAT(Norms(tokens), ElementsAre("committee", "minutes"));
  EXPECT_EQ(tokens[0].span.begin_byte, 3u);
  EXPECT_EQ(tokens[0].span.begin_char, 1u);
}

TEST(TokenizerTest, CountTokensAgreesWithTokenizeAndStopsAtTheLimit) {
  const std::string text =
      "Don't stop: 3.14, 10,000 caf\xC3\xA9s \xE4\xB8\xAD\xE6\x96\x87 "
      "and \xF0\x9F\x8C\xB7 git_config!";
  const size_t all = Tokenize(text).size();
  ASSERT_EQ(all, 9u);
  EXPECT_EQ(CountTokens(text, 100), all);
  EXPECT_EQ(CountTokens(text, all), all);
  EXPECT_EQ(CountTokens(text, 4), 4u);
  EXPECT_EQ(CountTokens("", 10), 0u);
}

// No word is that long: a run of word characters past kMaxTokenCodePoints
// ("a_a_...", "1.1.1...", base64) is cut into tokens of that many code
// points, counted the same by CountTokens.
TEST(TokenizerTest, RunsLongerThanAnyWordAreCut) {
  std::string run;
  for (int i = 0; i < 100; ++i) run += "a_";
  const std::vector<Token> tokens = Tokenize(run + " end");
  ASSERT_EQ(tokens.size(), 5u);  // 64 + 64 + 64 + 8 code points, then "end".
  EXPECT_EQ(tokens[0].span.end_char, kMaxTokenCodePoints);
  EXPECT_EQ(tokens[1].span.begin_char, kMaxTokenCodePoints);
  EXPECT_EQ(tokens[3].span.end_char, 200u);
  EXPECT_EQ(tokens[4].norm, "end");
  EXPECT_EQ(CountTokens(run + " end", 100), 5u);
  EXPECT_EQ(Tokenize("internationalization").size(), 1u);
}

}  // namespace
}  // namespace attnr::text

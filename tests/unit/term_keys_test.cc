#include "model/network/term_keys.h"

#include <vector>

#include "gtest/gtest.h"
#include "model/text/tokenizer.h"

namespace attnr::network {
namespace {

std::vector<int64_t> Keys(const char* text) {
  const auto tokens = text::Tokenize(text);
  return TermKeys(tokens, 0, static_cast<uint32_t>(tokens.size()));
}

TEST(TermKeysTest, WordsOfOneStemShareAKey) {
  const auto keys = Keys("Configured configuring CONFIGURES mirror");
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_NE(keys[0], 0);
  EXPECT_EQ(keys[0], keys[1]);
  EXPECT_EQ(keys[0], keys[2]);
  EXPECT_NE(keys[0], keys[3]);
}

TEST(TermKeysTest, StopwordsMatchNothing) {
  const auto keys = Keys("What is the mirror?");
  ASSERT_EQ(keys.size(), 4u);  // The tokenizer keeps words only.
  EXPECT_EQ(keys[0], 0);
  EXPECT_EQ(keys[1], 0);
  EXPECT_EQ(keys[2], 0);
  EXPECT_NE(keys[3], 0);
}

TEST(TermKeysTest, TakesTheAskedRange) {
  const auto tokens = text::Tokenize("alpha beta gamma");
  const auto all = TermKeys(tokens, 0, 3);
  const auto tail = TermKeys(tokens, 1, 3);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0], all[1]);
  EXPECT_EQ(tail[1], all[2]);
  EXPECT_NE(all[0], all[1]);
}

}  // namespace
}  // namespace attnr::network

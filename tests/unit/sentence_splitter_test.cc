#include "model/text/sentence_splitter.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::text {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> out;
  for (const SentenceBounds& s : SplitSentences(text)) {
    out.push_back(text.substr(s.begin_byte, s.end_byte - s.begin_byte));
  }
  return out;
}

TEST(SentenceSplitterTest, SplitsAtStopsBeforeCapitals) {
  EXPECT_THAT(Split("It works. Does it? Yes! Good."),
              ElementsAre("It works.", "Does it?", "Yes!", "Good."));
}

TEST(SentenceSplitterTest, KeepsAbbreviationsInitialsAndDecimals) {
  EXPECT_THAT(
      Split("Dr. Smith met J. R. Tolkien at 3.30 p.m. yesterday. See Fig. 2 "
            "for details, e.g. Linux and BSD. Prices rose approx. ten times."),
      ElementsAre("Dr. Smith met J. R. Tolkien at 3.30 p.m. yesterday.",
                  "See Fig. 2 for details, e.g. Linux and BSD.",
                  "Prices rose approx. ten times."));
}

TEST(SentenceSplitterTest, ClosingQuotesAndBracketsStayWithTheSentence) {
  EXPECT_THAT(Split("He said \"stop.\" Then (quietly.) She left."),
              ElementsAre("He said \"stop.\"", "Then (quietly.)", "She left."));
}

TEST(SentenceSplitterTest, UrlsAndVersionsDoNotSplit) {
  EXPECT_THAT(
      Split("Visit example.com/a.b for v1.2.3 now. Next one."),
      ElementsAre("Visit example.com/a.b for v1.2.3 now.", "Next one."));
}

TEST(SentenceSplitterTest, EllipsisBeforeLowerCaseContinues) {
  EXPECT_THAT(Split("Wait... and see. Then... Go on."),
              ElementsAre("Wait... and see.", "Then...", "Go on."));
}

TEST(SentenceSplitterTest, BlankLinesSeparateParagraphsAndWrappedLinesJoin) {
  const std::string text =
      "The first paragraph is wrapped\nacross two lines without a stop\n\n"
      "The second paragraph.";
  EXPECT_THAT(Split(text),
              ElementsAre("The first paragraph is wrapped\nacross two lines "
                          "without a stop",
                          "The second paragraph."));
  const auto bounds = SplitSentences(text);
  EXPECT_TRUE(bounds[0].starts_block);
  EXPECT_TRUE(bounds[1].starts_block);
}

TEST(SentenceSplitterTest, CrlfLineEndsBehaveLikeLf) {
  EXPECT_THAT(
      Split("First line. Second\r\nline ends.\r\n\r\nNew paragraph.\r\n"),
      ElementsAre("First line.", "Second\r\nline ends.", "New paragraph."));
  EXPECT_THAT(Split("Old Mac\rline.\r\rNext."),
              ElementsAre("Old Mac\rline.", "Next."));
}

TEST(SentenceSplitterTest, HeadingsAreTheirOwnUnits) {
  const std::string text =
      "# Install\nRun make. Then test.\n\nUsage\n=====\nCall it.\n\n"
      "2.1. Options\n\nSome text.";
  EXPECT_THAT(Split(text),
              ElementsAre("# Install", "Run make.", "Then test.", "Usage",
                          "Call it.", "2.1. Options", "Some text."));
  const auto bounds = SplitSentences(text);
  EXPECT_EQ(bounds[0].kind, SentenceKind::kHeading);
  EXPECT_EQ(bounds[3].kind, SentenceKind::kHeading);
}

TEST(SentenceSplitterTest, ShortTitleLineBeforeCapitalisedText) {
  EXPECT_THAT(Split("Configuration\nThe file lives in /etc. It is read once."),
              ElementsAre("Configuration", "The file lives in /etc.",
                          "It is read once."));
}

TEST(SentenceSplitterTest, ListItemsSplitEvenWithoutStops) {
  const std::string text =
      "Steps:\n- install the package\n- run the server\n1. first\n2) second "
      "item. With two sentences.\n* last";
  EXPECT_THAT(Split(text),
              ElementsAre("Steps:", "- install the package", "- run the server",
                          "1. first", "2) second item.", "With two sentences.",
                          "* last"));
  const auto bounds = SplitSentences(text);
  EXPECT_EQ(bounds[1].kind, SentenceKind::kListItem);
  EXPECT_EQ(bounds[5].kind, SentenceKind::kProse);
}

TEST(SentenceSplitterTest, FencedCodeIsOneUnit) {
  const std::string text =
      "Example:\n\n```\nx = 1. Y = 2.\nprint(x)\n```\nAfter code.";
  EXPECT_THAT(Split(text),
              ElementsAre("Example:", "```\nx = 1. Y = 2.\nprint(x)\n```",
                          "After code."));
  EXPECT_EQ(SplitSentences(text)[1].kind, SentenceKind::kCode);
}

TEST(SentenceSplitterTest, UnclosedFenceRunsToTheEnd) {
  EXPECT_THAT(Split("Text.\n```\ncode. More code."),
              ElementsAre("Text.", "```\ncode. More code."));
}

TEST(SentenceSplitterTest, EmptyAndWhitespaceOnly) {
  EXPECT_TRUE(SplitSentences("").empty());
  EXPECT_TRUE(SplitSentences(" \n\r\n\t ").empty());
}

TEST(SentenceSplitterTest, StopsOnceOverTheSentenceLimit) {
  std::string marks;
  for (int i = 0; i < 100000; ++i) marks += "!\n";
  const auto all = SplitSentences(marks);
  EXPECT_EQ(all.size(), 100000u);
  const auto capped = SplitSentences(marks, 1000);
  EXPECT_GT(capped.size(), 1000u);
  // Stops within one block of the limit, not at the end of the text.
  EXPECT_LT(capped.size(), 100000u / 2);
  for (size_t i = 0; i < capped.size(); ++i) {
    EXPECT_EQ(capped[i].begin_byte, all[i].begin_byte);
  }
}

TEST(SentenceSplitterTest, AByteOrderMarkIsNotPartOfTheFirstSentence) {
  const std::string text =
      "Minutes\n\nIt works. Does it? Yes.\nIt does, and it keeps working.\n";
  const std::vector<std::string> plain = Split(text);
  ASSERT_EQ(plain.size(), 5u);
  EXPECT_EQ(Split("\xEF\xBB\xBF" + text), plain);
}

TEST(SentenceSplitterTest, AVeryLongBlockSplitsLikeItsPieces) {
  // A block longer than the splitter's piece size gives the same sentences
  // as its lines do (cuts fall at line ends).
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "Line number one ends here.\n";
  const auto sentences = SplitSentences(text);
  ASSERT_EQ(sentences.size(), 5000u);
  EXPECT_EQ(sentences.back().end_byte, text.size() - 1);
}

}  // namespace
}  // namespace attnr::text

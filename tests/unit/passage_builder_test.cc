#include "model/text/passage_builder.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/text/analyzed_document.h"
#include "model/text/tokenizer.h"

namespace attnr::text {
namespace {

using ::testing::HasSubstr;

AnalyzedDocument Analyze(const std::string& text, uint32_t cap = 0,
                         uint32_t max_tokens = 0) {
  auto doc = AnalyzeDocument(text, {cap, max_tokens});
  EXPECT_TRUE(doc.ok()) << doc.status();
  return *std::move(doc);
}

std::string Slice(const std::string& text, const TextSpan& span) {
  return text.substr(span.begin_byte, span.byte_length());
}

TEST(AnalyzeDocumentTest, SentencesCarryTokensAndExactOffsets) {
  // Multi-byte text, emoji and CRLF: both offset kinds must agree.
  const std::string text =
      "Caf\xC3\xA9 au lait \xF0\x9F\x98\x80 is good.\r\nNa\xC3\xAFve "
      "tests pass.";
  const AnalyzedDocument doc = Analyze(text);
  ASSERT_EQ(doc.sentences.size(), 2u);
  const Sentence& s1 = doc.sentences[1];
  EXPECT_EQ(Slice(text, s1.span), "Na\xC3\xAFve tests pass.");
  EXPECT_EQ(s1.span.begin_char, 25u);  // Code points before "Naïve".
  EXPECT_EQ(s1.span.end_char - s1.span.begin_char, 17u);
  EXPECT_EQ(s1.token_count(), 3u);
  EXPECT_EQ(doc.tokens[s1.token_begin].norm, "na\xC3\xAFve");
  EXPECT_EQ(doc.sentences[0].token_count(), 5u);
}

TEST(AnalyzeDocumentTest, LongSentencesAreCutAtTokenBoundaries) {
  std::string text;
  for (int i = 0; i < 25; ++i) text += "word" + std::to_string(i) + " ";
  text += "end.";
  const AnalyzedDocument doc = Analyze(text, /*cap=*/10);
  ASSERT_EQ(doc.sentences.size(), 3u);
  EXPECT_EQ(doc.sentences[0].token_count(), 10u);
  EXPECT_EQ(doc.sentences[2].token_count(), 6u);
  EXPECT_EQ(Slice(text, doc.sentences[0].span).substr(0, 5), "word0");
  EXPECT_EQ(Slice(text, doc.sentences[1].span).substr(0, 6), "word10");
  EXPECT_EQ(Slice(text, doc.sentences[2].span).back(), '.');
}

TEST(AnalyzeDocumentTest, RefusesInvalidUtf8AndTooManyTokens) {
  auto bad = AnalyzeDocument("ok \xC3", {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("byte offset 3"));
  auto big = AnalyzeDocument("one two three four", {0, 3});
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(big.status().message(), HasSubstr("limit of 3"));
}

std::string Sentences(int n, const std::string& prefix) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += prefix + std::to_string(i) + " has four tokens. ";
  }
  return out;
}

TEST(PassageBuilderTest, PacksWholeSentencesUpToTheTokenCap) {
  const std::string text = Sentences(10, "Sentence");  // 4 tokens each.
  const AnalyzedDocument doc = Analyze(text);
  const auto passages = BuildPassages(doc, {/*max_tokens=*/12, 0});
  ASSERT_EQ(passages.size(), 4u);  // 3 + 3 + 3 + 1 sentences.
  for (const PassageBounds& p : passages) {
    EXPECT_LE(p.token_end - p.token_begin, 12u);
    // A passage begins and ends on sentence boundaries.
    EXPECT_EQ(p.span.begin_byte,
              doc.sentences[p.sentence_begin].span.begin_byte);
    EXPECT_EQ(p.span.end_byte, doc.sentences[p.sentence_end - 1].span.end_byte);
  }
  EXPECT_EQ(Slice(text, passages[3].span), "Sentence9 has four tokens.");
}

TEST(PassageBuilderTest, OverlapRepeatsSentencesAndAlwaysAdvances) {
  const AnalyzedDocument doc = Analyze(Sentences(6, "S"));
  const auto passages = BuildPassages(doc, {12, 1});
  ASSERT_GE(passages.size(), 2u);
  EXPECT_EQ(passages[1].sentence_begin, passages[0].sentence_end - 1);
  // An overlap larger than a passage still advances by one sentence.
  const auto big = BuildPassages(doc, {8, 5});
  for (size_t i = 1; i < big.size(); ++i) {
    EXPECT_GT(big[i].sentence_begin, big[i - 1].sentence_begin);
  }
  EXPECT_EQ(big.back().sentence_end, doc.sentences.size());
}

TEST(PassageBuilderTest, HeadingsStartPassages) {
  const std::string text = "# Intro\nShort intro.\n\n# Usage\nRun it.";
  const AnalyzedDocument doc = Analyze(text);
  const auto passages = BuildPassages(doc, {100, 0});
  ASSERT_EQ(passages.size(), 2u);
  EXPECT_EQ(Slice(text, passages[0].span), "# Intro\nShort intro.");
  EXPECT_EQ(Slice(text, passages[1].span), "# Usage\nRun it.");
}

TEST(PassageBuilderTest, SentencesWithoutWordsStillFillPassages) {
  std::string text;
  for (int i = 0; i < 40; ++i) text += "```\n```\n";  // Empty code blocks.
  const AnalyzedDocument doc = Analyze(text);
  ASSERT_EQ(doc.sentences.size(), 40u);
  const auto passages = BuildPassages(doc, {10, 0});
  // Each block starts a new passage once one is a quarter full (3 of 10):
  // 13 passages of 3 and one of 1.
  ASSERT_EQ(passages.size(), 14u);
  EXPECT_EQ(passages[0].sentence_end - passages[0].sentence_begin, 3u);
  EXPECT_EQ(passages[13].sentence_end - passages[13].sentence_begin, 1u);
}

TEST(PassageBuilderTest, ParagraphsStartPassagesOnceAQuarterIsFull) {
  // Paragraphs of 4, 1, 6 and 2 words under a cap of 16 (a quarter: 4).
  const std::string text =
      "Alpha beta gamma delta.\n\nEcho.\n\nFoxtrot golf hotel india juliet "
      "kilo.\n\nLima mike.";
  const AnalyzedDocument doc = Analyze(text);
  ASSERT_EQ(doc.sentences.size(), 4u);
  const auto passages = BuildPassages(doc, {16, 0});
  ASSERT_EQ(passages.size(), 3u);
  // 4 words are a quarter: the next paragraph starts a passage.
  EXPECT_EQ(Slice(text, passages[0].span), "Alpha beta gamma delta.");
  // 1 word is not: the next paragraph joins it.
  EXPECT_EQ(Slice(text, passages[1].span),
            "Echo.\n\nFoxtrot golf hotel india juliet kilo.");
  EXPECT_EQ(Slice(text, passages[2].span), "Lima mike.");
  // With half (8 words) as the share, paragraphs join until 8.
  PassageOptions half;
  half.max_tokens = 16;
  half.paragraph_break_fill = 0.5;
  const auto joined = BuildPassages(doc, half);
  ASSERT_EQ(joined.size(), 2u);
  EXPECT_EQ(Slice(text, joined[1].span), "Lima mike.");
}

TEST(PassageBuilderTest, SentenceLongerThanTheCapStandsAlone) {
  const std::string text = "Tiny. " + Sentences(1, "This one") + "Tiny too.";
  const AnalyzedDocument doc = Analyze(text);
  const auto passages = BuildPassages(doc, {3, 0});
  ASSERT_EQ(passages.size(), 3u);
  EXPECT_EQ(passages[1].sentence_end - passages[1].sentence_begin, 1u);
}

// Text with few or no words (the shapes that once made one unbounded unit:
// punctuation, digits joined by dots, one long "word" of underscores,
// nested brackets, emoji) yields units of at most MaxPassageChars code
// points that tile the text.
TEST(PassageBuilderTest, WordlessTextYieldsBoundedUnits) {
  auto repeat = [](const std::string& piece, size_t times) {
    std::string out;
    for (size_t i = 0; i < times; ++i) out += piece;
    return out;
  };
  const uint32_t words = 128;
  const uint32_t cap = MaxPassageChars(words);
  EXPECT_EQ(cap, 2048u);
  const std::vector<std::string> texts = {
      repeat("!", 100000),
      repeat(".", 50000),
      repeat("a_", 50000),
      repeat("1.", 50000),
      repeat("(", 50000) + repeat(")", 50000),
      repeat("\xF0\x9F\x98\x80", 20000),
      "Some words first. " + repeat("?!", 30000) + " and words after.",
  };
  for (const std::string& text : texts) {
    AnalyzeOptions options;
    options.max_sentence_tokens = words;
    options.max_sentence_chars = cap;
    auto doc = AnalyzeDocument(text, options);
    ASSERT_TRUE(doc.ok()) << doc.status();
    for (const Token& t : doc->tokens) {
      EXPECT_LE(t.span.end_char - t.span.begin_char, kMaxTokenCodePoints);
    }
    PassageOptions passage_options;
    passage_options.max_tokens = words;
    passage_options.max_chars = cap;
    const auto passages = BuildPassages(*doc, passage_options);
    ASSERT_GT(passages.size(), 1u) << text.substr(0, 8);
    uint32_t covered_to = 0;
    for (const PassageBounds& p : passages) {
      EXPECT_LE(p.span.end_char - p.span.begin_char, cap) << text.substr(0, 8);
      EXPECT_LE(p.token_end - p.token_begin, words);
      // In order, nothing but whitespace between one unit and the next.
      ASSERT_GE(p.span.begin_byte, covered_to);
      for (uint32_t b = covered_to; b < p.span.begin_byte; ++b) {
        EXPECT_TRUE(text[b] == ' ') << "byte " << b << " not in any unit";
      }
      covered_to = p.span.end_byte;
    }
    EXPECT_EQ(covered_to, text.size());
  }
}

// Ordinary prose never meets the code point cap: the passages are the ones
// the token cap alone makes.
TEST(PassageBuilderTest, TheCodePointCapLeavesProseAlone) {
  const std::string text = Sentences(200, "Sentence number");
  AnalyzeOptions capped;
  capped.max_sentence_tokens = 128;
  capped.max_sentence_chars = MaxPassageChars(128);
  auto with = AnalyzeDocument(text, capped);
  auto without = AnalyzeDocument(text, {128});
  ASSERT_TRUE(with.ok() && without.ok());
  PassageOptions options;
  options.max_tokens = 128;
  const auto plain = BuildPassages(*without, options);
  options.max_chars = capped.max_sentence_chars;
  const auto bounded = BuildPassages(*with, options);
  ASSERT_EQ(plain.size(), bounded.size());
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(plain[i].span.begin_byte, bounded[i].span.begin_byte);
    EXPECT_EQ(plain[i].span.end_byte, bounded[i].span.end_byte);
  }
}

}  // namespace
}  // namespace attnr::text

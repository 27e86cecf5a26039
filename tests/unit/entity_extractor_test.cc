#include "model/entities/entity_extractor.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::entities {
namespace {

using ::testing::ElementsAre;

struct Found {
  std::string key;
  EntityKind kind;
  std::string surface;  // The text its tokens cover.
};

std::vector<Found> Extract(const std::string& text) {
  const std::vector<text::Token> tokens = text::Tokenize(text);
  const uint32_t start = 0;
  std::vector<Found> out;
  for (const Mention& m :
       ExtractMentions(text, tokens, absl::MakeConstSpan(&start, 1))) {
    const uint32_t b = tokens[m.token_begin].span.begin_byte;
    const uint32_t e = tokens[m.token_end - 1].span.end_byte;
    out.push_back({m.key, m.kind, text.substr(b, e - b)});
  }
  return out;
}

std::vector<std::string> Keys(const std::string& text) {
  std::vector<std::string> keys;
  for (const Found& f : Extract(text)) keys.push_back(f.key);
  return keys;
}

TEST(EntityExtractorTest, MultiWordNamesWithExactTokens) {
  const auto found = Extract(
      "Quenornska Thethe worked closely with Mundlin Garvikan on the "
      "Turskane project.");
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].key, "quenornska thethe");
  EXPECT_EQ(found[0].surface, "Quenornska Thethe");
  EXPECT_EQ(found[1].key, "mundlin garvikan");
  EXPECT_EQ(found[1].surface, "Mundlin Garvikan");
  EXPECT_EQ(found[2].key, "turskane");
  for (const Found& f : found) EXPECT_EQ(f.kind, EntityKind::kName);
}

TEST(EntityExtractorTest, HonorificsAndPossessivesMeetTheBareName) {
  EXPECT_THAT(Keys("She met Mr. Darcy at the ball."), ElementsAre("darcy"));
  EXPECT_THAT(Keys("It was Darcy's letter."), ElementsAre("darcy"));
  EXPECT_THAT(Keys("It was Darcy\u2019s letter."), ElementsAre("darcy"));
  EXPECT_THAT(Keys("The Bank of England raised rates."),
              ElementsAre("bank of england"));
}

TEST(EntityExtractorTest, SentenceOpeningStopwordsAreNotNames) {
  EXPECT_THAT(Keys("Where was the person born?"), ElementsAre());
  EXPECT_THAT(Keys("The Turskane project ended."), ElementsAre("turskane"));
  const auto opening = Extract("Packages are installed by apt.");
  ASSERT_EQ(opening.size(), 1u);  // Kept, but marked (the graph decides).
  EXPECT_EQ(opening[0].key, "packages");
}

TEST(EntityExtractorTest, AcronymsNumbersAndNoCalendarWords) {
  const auto found =
      Extract("In March 2026 the GNU project shipped 3.14 to SQL users.");
  std::vector<std::pair<std::string, EntityKind>> got;
  for (const Found& f : found) got.emplace_back(f.key, f.kind);
  EXPECT_THAT(got, ElementsAre(std::make_pair("2026", EntityKind::kNumber),
                               std::make_pair("gnu", EntityKind::kAcronym),
                               std::make_pair("3.14", EntityKind::kNumber),
                               std::make_pair("sql", EntityKind::kAcronym)));
}

TEST(EntityExtractorTest, CodeIdentifiersKeepTheirSpelling) {
  const auto found = Extract(
      "Set core_editor or call getValue, then run git --dry-run on "
      "/etc/apt/sources.list and std::string.");
  std::vector<std::string> ids;
  for (const Found& f : found) {
    if (f.kind == EntityKind::kIdentifier) ids.push_back(f.key);
  }
  EXPECT_THAT(ids, ElementsAre("core_editor", "getValue", "--dry-run",
                               "/etc/apt/sources.list", "std::string"));
  // A sentence's final period does not join words, nor does "e.g.".
  EXPECT_THAT(Keys("It ends here. Then e.g. more."), ElementsAre());
}

TEST(EntityExtractorTest, OffsetsStayExactAfterNonAsciiText) {
  const std::string text =
      "Caf\u00e9 owner \u00c9mile Zola met \u00d6sterreich.";
  const auto found = Extract(text);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].surface, "Caf\u00e9");
  EXPECT_EQ(found[1].surface, "\u00c9mile Zola");
  EXPECT_EQ(found[1].key, "\u00e9mile zola");
  EXPECT_EQ(found[2].surface, "\u00d6sterreich");
}

}  // namespace
}  // namespace attnr::entities

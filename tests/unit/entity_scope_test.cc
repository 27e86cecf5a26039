#include "model/entities/entity_scope.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/entities/entity_graph.h"

namespace attnr::entities {
namespace {

using ::testing::ElementsAre;

// Sentences: 0 the link, 1 noise, 2 hop one, 3 noise, 4 hop two.
constexpr char kDoc[] =
    "Dorvik Nemos taught Angar Ithmos for many years. "
    "Git is a fast revision control system. "
    "Angar Ithmos later founded Dorgar Labs. "
    "Fitzwilliam Darcy wrote to Git users. "
    "Dorgar Labs is based in Tollinlo Harbour. "
    "Mr. Darcy signed it.";

text::AnalyzedDocument Analyze() {
  auto doc = text::AnalyzeDocument(kDoc, {});
  EXPECT_TRUE(doc.ok());
  return *std::move(doc);
}

TEST(EntityGraphTest, EdgesBothWaysAndAliases) {
  const text::AnalyzedDocument doc = Analyze();
  ASSERT_EQ(doc.sentences.size(), 6u);
  const EntityGraph g = EntityGraph::Build(kDoc, doc);
  const auto angar = g.Find("angar ithmos");
  ASSERT_TRUE(angar.has_value());
  EXPECT_THAT(g.sentences_of(*angar), ElementsAre(0u, 2u));
  EXPECT_EQ(g.display(*angar), "Angar Ithmos");
  // "Mr. Darcy" (key "darcy") is the one longer name ending in "darcy".
  const auto darcy = g.Find("darcy");
  ASSERT_TRUE(darcy.has_value());
  EXPECT_EQ(g.key(*darcy), "fitzwilliam darcy");
  EXPECT_THAT(g.sentences_of(*darcy), ElementsAre(3u, 5u));
  // "Git" opens sentence 1 but is capitalised inside sentence 3 too.
  const auto git = g.Find("git");
  ASSERT_TRUE(git.has_value());
  EXPECT_THAT(g.sentences_of(*git), ElementsAre(1u, 3u));
  const auto& first = g.entities_of(0);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(g.key(first[0]), "dorvik nemos");
}

TEST(EntityScopeTest, FollowsTheChainTwoHopsFromTheLinkSentence) {
  const text::AnalyzedDocument doc = Analyze();
  const EntityGraph g = EntityGraph::Build(kDoc, doc);
  const std::string query =
      "In which town is the company founded by the student of Dorvik Nemos?";
  const std::vector<uint32_t> q =
      QueryEntities(query, text::Tokenize(query), g);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(g.key(q[0]), "dorvik nemos");
  const std::vector<uint32_t> seeds = {0, 1};
  const auto hits = FollowBridges(g, q, seeds, {});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].sentence, 2u);
  EXPECT_EQ(hits[0].hop, 1);
  EXPECT_EQ(hits[0].seed, 0u);
  EXPECT_THAT(hits[0].via, ElementsAre(*g.Find("angar ithmos")));
  EXPECT_EQ(hits[1].sentence, 4u);
  EXPECT_EQ(hits[1].hop, 2);
  EXPECT_THAT(hits[1].via,
              ElementsAre(*g.Find("angar ithmos"), *g.Find("dorgar labs")));

  ScopeParams one_hop;
  one_hop.hops = 1;
  EXPECT_EQ(FollowBridges(g, q, seeds, one_hop).size(), 1u);
}

TEST(EntityScopeTest, NothingWithoutAQueryEntityOrFromSeedsWithoutOne) {
  const text::AnalyzedDocument doc = Analyze();
  const EntityGraph g = EntityGraph::Build(kDoc, doc);
  const std::string query = "how do companies choose a town?";
  EXPECT_TRUE(QueryEntities(query, text::Tokenize(query), g).empty());
  EXPECT_TRUE(FollowBridges(g, {}, std::vector<uint32_t>{0}, {}).empty());
  // The query's entity is not in the seed sentence: no chain starts.
  const std::vector<uint32_t> q = {*g.Find("dorvik nemos")};
  EXPECT_TRUE(FollowBridges(g, q, std::vector<uint32_t>{1}, {}).empty());
}

}  // namespace
}  // namespace attnr::entities

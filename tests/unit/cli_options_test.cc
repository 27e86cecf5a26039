#include "client/cli_options.h"

#include <string>
#include <vector>

#include "client/output_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::client {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<CliOptions> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "attnr");
  return ParseCli(static_cast<int>(args.size()), args.data());
}

TEST(CliOptionsTest, RetrieveWithRepeatedDocsAndDecimalTimeout) {
  auto o = Parse({"retrieve", "--doc", "a.txt", "--doc=b.txt", "--query",
                  "what is x", "--top-k", "3", "--timeout", "1.5", "--json",
                  "--views", "lexical"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->docs, (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(o->query, "what is x");
  EXPECT_EQ(o->top_k, 3u);
  EXPECT_EQ(o->timeout, absl::Milliseconds(1500));
  EXPECT_TRUE(o->json);
  EXPECT_EQ(o->views, std::vector<std::string>{"lexical"});
  EXPECT_EQ(o->target, "localhost:50051");
}

TEST(CliOptionsTest, ScopeIsUnsetUnlessAskedForEitherWay) {
  auto unset = Parse({"retrieve", "--doc", "a.txt", "--query", "q"});
  ASSERT_TRUE(unset.ok()) << unset.status();
  EXPECT_FALSE(unset->entity_scope.has_value());
  auto on = Parse({"retrieve", "--doc", "a.txt", "--query", "q", "--scope"});
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(on->entity_scope, std::optional<bool>(true));
  auto off =
      Parse({"retrieve", "--doc", "a.txt", "--query", "q", "--no-scope"});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->entity_scope, std::optional<bool>(false));
  EXPECT_FALSE(
      Parse({"retrieve", "--doc", "a.txt", "--query", "q", "--scope=yes"})
          .ok());
}

TEST(CliOptionsTest, ScoreKeepsPassagesInCommandLineOrder) {
  auto o =
      Parse({"score", "--query", "q", "--passage", "text one", "--char-range",
             "3:9", "--byte-range", "0:4", "--context", "doc.txt"});
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->passages.size(), 3u);
  EXPECT_EQ(o->passages[0].text, "text one");
  EXPECT_EQ(o->passages[1].kind, PassageArg::Kind::kCharRange);
  EXPECT_EQ(o->passages[1].start, 3u);
  EXPECT_EQ(o->passages[1].end, 9u);
  EXPECT_EQ(o->passages[2].kind, PassageArg::Kind::kByteRange);
}

TEST(CliOptionsTest, UsageErrorsSayWhatIsWrong) {
  EXPECT_THAT(Parse({"retrieve", "--query", "q"}).status().message(),
              HasSubstr("--doc"));
  EXPECT_THAT(
      Parse({"retrieve", "--doc", "a", "--query", "q", "--queries", "f"})
          .status()
          .message(),
      HasSubstr("exactly one of --query or --queries"));
  EXPECT_THAT(
      Parse({"retrieve", "--doc", "a", "--query", "q", "--timeout", "-1"})
          .status()
          .message(),
      HasSubstr("--timeout"));
  EXPECT_THAT(
      Parse({"retrieve", "--doc", "a", "--query", "q", "--top-k", "many"})
          .status()
          .message(),
      HasSubstr("--top-k"));
  EXPECT_THAT(Parse({"frobnicate"}).status().message(),
              HasSubstr("unknown command"));
  EXPECT_THAT(Parse({"info", "--bogus", "1"}).status().message(),
              HasSubstr("unknown flag '--bogus'"));
  EXPECT_THAT(Parse({"score", "--query", "q", "--char-range", "1:2"})
                  .status()
                  .message(),
              HasSubstr("--context"));
  EXPECT_THAT(
      Parse({"score", "--query", "q", "--char-range", "12"}).status().message(),
      HasSubstr("START:END"));
  EXPECT_THAT(Parse({"info", "--target"}).status().message(),
              HasSubstr("needs a value"));
}

TEST(CliOptionsTest, BenchTakesBoundedLoadFlags) {
  auto o = Parse({"bench", "--doc", "a.txt", "--queries", "q.jsonl",
                  "--concurrency", "8", "--connections", "4", "--duration",
                  "2.5", "--fresh", "--views", "lexical"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->concurrency, 8u);
  EXPECT_EQ(o->connections, 4u);
  EXPECT_EQ(o->duration, absl::Milliseconds(2500));
  EXPECT_EQ(o->requests, 0u);
  EXPECT_TRUE(o->fresh);
  EXPECT_THAT(Parse({"bench", "--doc", "a", "--query", "q"}).status().message(),
              HasSubstr("needs --requests N or --duration SECONDS"));
  EXPECT_THAT(
      Parse({"bench", "--doc", "a", "--query", "q", "--requests", "2000000"})
          .status()
          .message(),
      HasSubstr("--requests must be 1..1000000"));
  EXPECT_THAT(
      Parse({"bench", "--doc", "a", "--query", "q", "--duration", "7200"})
          .status()
          .message(),
      HasSubstr("at most 3600 seconds"));
  EXPECT_THAT(Parse({"bench", "--doc", "a", "--query", "q", "--requests", "1",
                     "--concurrency", "0"})
                  .status()
                  .message(),
              HasSubstr("--concurrency must be 1..256"));
}

TEST(CliOptionsTest, ExplainTakesTheApiLevels) {
  auto plain = Parse({"retrieve", "--doc", "a", "--query", "q", "--explain"});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(plain->explain);
  EXPECT_FALSE(plain->explain_sentences);
  auto sentences =
      Parse({"retrieve", "--doc", "a", "--query", "q", "--explain=Sentences"});
  ASSERT_TRUE(sentences.ok()) << sentences.status();
  EXPECT_TRUE(sentences->explain);
  EXPECT_TRUE(sentences->explain_sentences);
  auto none =
      Parse({"retrieve", "--doc", "a", "--query", "q", "--explain=none"});
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->explain);
  EXPECT_FALSE(none->explain_sentences);
  EXPECT_THAT(
      Parse({"retrieve", "--doc", "a", "--query", "q", "--explain=loud"})
          .status()
          .message(),
      HasSubstr("--explain: unknown level 'loud' (none, scores, sentences)"));
  EXPECT_THAT(
      Parse({"score", "--query", "q", "--passage", "p", "--explain=sentences"})
          .status()
          .message(),
      HasSubstr("--explain=sentences is for retrieve"));
}

TEST(OutputFormatTest, SentenceAttentionListsTheMostAttendedFirst) {
  // Multi-byte text first: the byte ranges slice, the code point ranges print.
  const std::string text =
      "Caf\xC3\xA9 opens at nine. The bill is due monthly. Rain is likely.";
  google::protobuf::RepeatedPtrField<attnr::v1::Document> documents;
  documents.Add()->set_text(text);
  documents.Add()->set_text("Unread.");
  documents.Mutable(0)->set_id("notes.txt");
  attnr::v1::RetrieveResponse response;
  attnr::v1::DocumentExplanation* e = response.add_explanations();
  const uint32_t starts[] = {0, 21, 46};
  const uint32_t ends[] = {20, 45, 61};
  const double attention[] = {0.2, 0.7, -1};
  for (int i = 0; i < 3; ++i) {
    attnr::v1::SentenceExplanation* s = e->add_sentences();
    s->mutable_range()->set_start_byte(starts[i]);
    s->mutable_range()->set_end_byte(ends[i]);
    s->mutable_range()->set_start_char(i == 0 ? 0 : starts[i] - 1);
    s->mutable_range()->set_end_char(ends[i] - 1);
    if (attention[i] >= 0) s->set_attention(attention[i]);
  }
  e->set_note("the LLM read 2 of 3 sentences");
  attnr::v1::DocumentExplanation* unread = response.add_explanations();
  unread->set_document_index(1);
  unread->add_sentences()->mutable_range()->set_end_byte(7);
  unread->set_note("the LLM view was not among the request's views");

  const std::string out = FormatSentenceAttention(response, documents, 1);
  EXPECT_THAT(out, HasSubstr("attention in notes.txt: 2 of 3 sentences read "
                             "by the LLM; the most attended:\n"));
  // Only the best one (max_sentences = 1): the bill, not the caf\xC3\xA9.
  EXPECT_THAT(out, HasSubstr("0.7000  [20,44)"));
  EXPECT_THAT(out, HasSubstr("The bill is due monthly."));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("opens at nine")));
  EXPECT_THAT(out, HasSubstr("(the LLM read 2 of 3 sentences)"));
  EXPECT_THAT(out, HasSubstr("attention in #1: 0 of 1 sentences read by the "
                             "LLM (the LLM view was not among the request's "
                             "views)\n"));
}

TEST(OutputFormatTest, SnippetCollapsesWhitespaceAndCutsOnCodePoints) {
  EXPECT_EQ(Snippet("a  b\n\nc", 10), "a b c");
  EXPECT_EQ(Snippet("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 2),
            "\xC3\xA9\xC3\xA9\xE2\x80\xA6");
}

TEST(OutputFormatTest, JsonLinePutsQidFirstAndPrintsDefaults) {
  attnr::v1::RetrieveResponse response;
  response.set_model("m/1");
  attnr::v1::Passage* passage = response.add_passages();
  passage->set_rank(1);
  passage->mutable_range();
  auto line = ToJsonLine(response, nlohmann::ordered_json("q7"));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->rfind("{\"qid\":\"q7\",", 0), 0u) << *line;
  EXPECT_THAT(*line, HasSubstr("\"document_index\":0"));
  EXPECT_THAT(*line, HasSubstr("\"start_char\":0"));
  auto plain = ToJsonLine(response, nullptr);
  ASSERT_TRUE(plain.ok());
  EXPECT_THAT(*plain, ::testing::Not(HasSubstr("qid")));
}

}  // namespace
}  // namespace attnr::client

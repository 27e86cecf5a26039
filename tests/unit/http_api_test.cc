#include "server/http_api.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::server {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Parse(const std::string& text) { return *ParseJsonBody(text); }

TEST(HttpApiTest, BadJsonNamesTheByteOffset) {
  auto body = ParseJsonBody(R"({"query": "x",})");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(body.status().message(), HasSubstr("body: not valid JSON"));
  EXPECT_THAT(body.status().message(), HasSubstr("at byte 14"));
  // The message never quotes the body (it reaches the access log).
  auto secret = ParseJsonBody(R"({"query": "my secret question" x})");
  ASSERT_FALSE(secret.ok());
  EXPECT_THAT(secret.status().message(), ::testing::Not(HasSubstr("secret")));
  // Nor when the quoted part itself holds "; " (the parser's "last read"
  // runs to the offending byte), nor a number the parser refuses.
  for (const std::string& leaky :
       {std::string(R"({"query": "a; b; my secret; expected" x})"),
        std::string(R"({"q": 1e999, "secret": 1})"),
        std::string("{\"") + std::string(100000, 's') + "\": 1e999}"}) {
    auto refused = ParseJsonBody(leaky);
    ASSERT_FALSE(refused.ok());
    EXPECT_THAT(refused.status().message(),
                ::testing::Not(HasSubstr("secret")));
    EXPECT_LT(refused.status().message().size(), 200u);
  }
  // JSON is UTF-8: a bad byte inside a string is named by its offset.
  auto bad_utf8 = ParseJsonBody(std::string("{\"query\": \"a\xff\"}"));
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_THAT(bad_utf8.status().message(),
              HasSubstr("body: invalid UTF-8 at byte offset 12"));
  EXPECT_FALSE(ParseJsonBody("[1, 2]").ok());  // Not an object.
  // Valid syntax the parser refuses is a refusal too, not an exception
  // (the request fuzzer found this one ending the process).
  auto huge = ParseJsonBody(R"({"query": "q", "top_k": 1e999})");
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(huge.status().message(), HasSubstr("body: "));
}

TEST(HttpApiTest, RetrieveTakesPlainStringsAndOptions) {
  auto request = RetrieveRequestFromJson(Parse(R"({
      "query": "who?",
      "documents": ["first text", {"id": "b", "text": "second"}],
      "options": {"top_k": 1e1, "views": ["lexical", "SCORING_VIEW_DENSE",
                  "ENTITY"], "explain": true, "entity_scope": false}})"));
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->query(), "who?");
  ASSERT_EQ(request->documents_size(), 2);
  EXPECT_EQ(request->documents(0).text(), "first text");
  EXPECT_EQ(request->documents(1).id(), "b");
  EXPECT_EQ(request->options().top_k(), 10u);
  ASSERT_EQ(request->options().views_size(), 3);
  EXPECT_EQ(request->options().views(1), attnr::v1::SCORING_VIEW_DENSE);
  EXPECT_TRUE(request->options().explain());
  EXPECT_TRUE(request->options().has_entity_scope());
  EXPECT_FALSE(request->options().entity_scope());
  EXPECT_FALSE(request->options().has_grow_ranges());
}

TEST(HttpApiTest, ShapeErrorsNameTheField) {
  struct Case {
    const char* body;
    const char* message;
  };
  for (
      const Case& c : {
          Case{R"({"query": 3, "documents": ["x"]})",
               "query: must be a string"},
          Case{R"({"query": "q", "documents": [7]})",
               "documents[0]: must be a string or an object"},
          Case{
              R"({"query": "q", "documents": ["x"], "options": {"top_k": -1}})",
              "options.top_k: must be an integer"},
          Case{
              R"({"query": "q", "documents": ["x"], "options": {"top_k": 1.5}})",
              "options.top_k: must be an integer"},
          Case{R"({"query": "q", "documents": ["x"], "options": {"topk": 1}})",
               "options.topk: unknown field"},
          Case{
              R"({"query": "q", "documents": ["x"], "options": {"views": ["bm25"]}})",
              "options.views[0]: 'bm25' is not a scoring view"},
          Case{R"({"query": "q", "docs": ["x"]})", "docs: unknown field"},
      }) {
    auto request = RetrieveRequestFromJson(Parse(c.body));
    ASSERT_FALSE(request.ok()) << c.body;
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(request.status().message(), HasSubstr(c.message)) << c.body;
  }
}

TEST(HttpApiTest, RerankTakesCohereShapeAndRanksBestFirst) {
  auto call = RerankCallFromJson(Parse(R"({
      "model": "rerank-english-v3.0", "query": "q",
      "documents": ["a", {"text": "b"}, "c"], "top_n": 2,
      "return_documents": true})"));
  ASSERT_TRUE(call.ok()) << call.status();
  ASSERT_EQ(call->request.passages_size(), 3);
  EXPECT_EQ(call->request.passages(1).text(), "b");
  EXPECT_EQ(call->top_n, 2u);

  attnr::v1::ScoreResponse response;
  for (double score : {0.2, 0.9, 0.5}) {
    auto* s = response.add_scores();
    s->set_index(response.scores_size() - 1);
    s->set_score(score);
  }
  response.set_model("attnr/1");
  response.mutable_usage()->set_query_tokens(1);
  response.mutable_usage()->set_document_tokens(3);
  const json out = RerankResponseJson(*call, response, "id1");
  ASSERT_EQ(out["results"].size(), 2u);
  EXPECT_EQ(out["results"][0]["index"], 1);
  EXPECT_EQ(out["results"][0]["relevance_score"], 0.9);
  EXPECT_EQ(out["results"][0]["document"]["text"], "b");
  EXPECT_EQ(out["results"][1]["index"], 2);
  EXPECT_EQ(out["usage"]["total_tokens"], 4);
  EXPECT_EQ(out["model"], "attnr/1");

  auto zero = RerankCallFromJson(Parse(R"({"query": "q", "documents": ["a"],
                                           "top_n": 0})"));
  EXPECT_THAT(zero.status().message(), HasSubstr("top_n: must be at least 1"));
}

TEST(HttpApiTest, RerankErrorsNameTheDocuments) {
  const absl::Status s = RerankStatus(absl::ResourceExhaustedError(
      "passages[3].text: 9 bytes, over the limit of 8 (max_document_bytes)"));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "documents[3].text: 9 bytes, over the limit of 8 "
            "(max_document_bytes)");
  EXPECT_EQ(
      RerankStatus(absl::InvalidArgumentError("query: is empty")).message(),
      "query: is empty");
}

TEST(HttpApiTest, ScoreTakesTextsAndRanges) {
  auto request = ScoreRequestFromJson(Parse(R"({
      "query": "q", "context": {"text": "abc def"},
      "passages": ["abc", {"char_range": {"start": 0, "end": 3}},
                   {"byte_range": {"start": 4, "end": 7}}]})"));
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_EQ(request->passages_size(), 3);
  EXPECT_EQ(request->passages(0).text(), "abc");
  EXPECT_EQ(request->passages(1).char_range().end(), 3u);
  EXPECT_EQ(request->passages(2).byte_range().start(), 4u);
  EXPECT_EQ(request->context().text(), "abc def");
}

TEST(HttpApiTest, ResponsesPrintZerosAndErrorsCarryTheCode) {
  attnr::v1::RetrieveResponse response;
  response.add_passages()->mutable_range()->set_end_char(5);
  const json out = json::parse(MessageToJson(response));
  EXPECT_EQ(out["passages"][0]["range"]["start_char"], 0);
  EXPECT_EQ(out["passages"][0]["range"]["end_char"], 5);
  const json error = json::parse(
      ErrorJson(absl::InvalidArgumentError("query: is empty"), 400));
  EXPECT_EQ(error["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(error["error"]["status"], 400);
  EXPECT_EQ(error["error"]["message"], "query: is empty");
}

// Field and view names a client sent are repeated only when short and
// plain; anything else is described by its size, never quoted.
TEST(HttpApiTest, ErrorsRepeatOnlyShortPlainNames) {
  const std::string long_key(5000, 'k');
  auto unknown = RetrieveRequestFromJson(Parse(absl::StrCat(
      R"({"query": "q", "documents": ["x"], ")", long_key, R"(": 1})")));
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("body (a name of 5000 bytes): unknown field"));
  auto view = RetrieveRequestFromJson(Parse(
      R"({"query": "q", "documents": ["x"], "options": {"views": ["my secret view"]}})"));
  ASSERT_FALSE(view.ok());
  EXPECT_THAT(view.status().message(), HasSubstr("a name of 14 bytes"));
  EXPECT_THAT(view.status().message(), ::testing::Not(HasSubstr("secret")));
}

}  // namespace
}  // namespace attnr::server

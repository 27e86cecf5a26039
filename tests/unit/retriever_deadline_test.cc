// A call's deadline bounds its neural work: the dense view's budget fits
// the time left and its batches are paced by it. Alone (RUN_SERIAL): the
// pacing reacts to this machine's speed, which another test's encode on the
// same two cores would change mid-call.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "model/retriever.h"
#include "tests/unit/pretrained_model_folder.h"

namespace attnr {
namespace {

std::string Slice(absl::string_view text, const text::TextSpan& s) {
  return std::string(text.substr(s.begin_byte, s.byte_length()));
}

// With no encode rate known yet (a fresh retriever) nothing sizes the
// budget, so the dense view paces itself: the batches that would end past
// the deadline are not started and the call answers from what it judged.
TEST(RetrieverDenseTest, DeadlinePacesTheEncodeWhenNoRateIsKnown) {
  RetrieverConfig config;
  config.dense_model_path = PretrainedModelFolder("all-minilm-l6-v2");
  config.neural_budget_tokens = 0;  // No configured limit.
  std::string doc = "Notes.\n\n";
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&doc, "Paragraph ", i,
                    " talks about the weather, the harvest and the roads "
                    "between the villages in spring.\n\n");
  }
  doc += "The espresso grinder must be descaled every month.\n\n";
  RetrieveParams params;
  // How long the whole encode takes, on a retriever of its own.
  absl::Duration whole;
  {
    auto measure = Retriever::Create(config);
    ASSERT_TRUE(measure.ok()) << measure.status();
    auto full = (*measure)->Retrieve("espresso grinder", {{"d", doc}}, params);
    ASSERT_TRUE(full.ok()) << full.status();
    ASSERT_EQ(full->usage.unjudged_passages, 0u);
    whole = absl::Milliseconds(full->usage.times.encode_ms);
  }
  auto r = Retriever::Create(config);
  ASSERT_TRUE(r.ok()) << r.status();
  params.stop = StopSignal(absl::Now() + whole / 2);
  auto paced = (*r)->Retrieve("espresso grinder", {{"d", doc}}, params);
  ASSERT_TRUE(paced.ok()) << paced.status();
  EXPECT_GT(paced->usage.unjudged_passages, 0u);
  ASSERT_FALSE(paced->passages.empty());
  // BM25's best passage was among the first judged.
  EXPECT_THAT(Slice(doc, paced->passages[0].span),
              ::testing::HasSubstr("espresso grinder"));
}

// A call's neural budget shrinks to fit its deadline: once the encode rate
// is known, a call with little time left judges fewer passages and still
// answers (from BM25 and what it could judge) instead of running out.
TEST(RetrieverDenseTest, BudgetShrinksToFitTheDeadline) {
  RetrieverConfig config;
  config.dense_model_path = PretrainedModelFolder("all-minilm-l6-v2");
  config.neural_budget_tokens = 0;  // No configured limit.
  auto r = Retriever::Create(config);
  ASSERT_TRUE(r.ok()) << r.status();
  auto document = [](int n) {
    std::string doc = absl::StrCat("Document ", n, ".\n\n");
    for (int i = 0; i < 200; ++i) {
      absl::StrAppend(&doc, "Paragraph ", i, " of document ", n,
                      " talks about the weather, the harvest and the roads "
                      "between the villages in spring.\n\n");
    }
    return doc + "The espresso grinder must be descaled every month.\n\n";
  };
  RetrieveParams params;
  // No deadline: every passage is judged (and the rate is measured).
  auto full = (*r)->Retrieve("espresso grinder", {{"a", document(1)}}, params);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->usage.unjudged_passages, 0u);
  ASSERT_GT(full->usage.encoded_tokens, 1000u);

  // A fresh document of the same size with half the time the whole encode
  // took: the budget (half of what the rate fits into the time left) leaves
  // passages unjudged, and the call answers (with room for a machine busy
  // with other tests).
  ASSERT_GT(full->usage.times.encode_ms, 300.0);
  params.stop = StopSignal(absl::Now() +
                           absl::Milliseconds(full->usage.times.encode_ms / 2));
  auto rushed =
      (*r)->Retrieve("espresso grinder", {{"b", document(2)}}, params);
  ASSERT_TRUE(rushed.ok()) << rushed.status();
  EXPECT_GT(rushed->usage.unjudged_passages, 0u);
  EXPECT_LT(rushed->usage.encoded_tokens, full->usage.encoded_tokens / 2);
  ASSERT_FALSE(rushed->passages.empty());
  EXPECT_THAT(Slice(document(2), rushed->passages[0].span),
              ::testing::HasSubstr("espresso grinder"));
}

}  // namespace
}  // namespace attnr

#include "model/views/budgeted_batches.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnr::views {
namespace {

using ::testing::ElementsAre;

// The skeleton's other side, recording what it is asked: unit u has
// lengths_[u] rows of lengths given per unit; a row's output is its length.
class RecordingModel : public BatchedModel {
 public:
  explicit RecordingModel(std::vector<std::vector<size_t>> rows)
      : rows_(std::move(rows)) {}

  std::string Key(const ViewRequest& request, uint32_t u) const override {
    return UnitCacheKey("model", request, u);
  }
  bool FromCache(uint32_t unit, const std::string& key) override {
    if (cached_.count(unit) == 0) return false;
    from_cache_.insert(unit);
    return true;
  }
  std::optional<std::vector<std::vector<int32_t>>> Rows(const ViewRequest&,
                                                        uint32_t u) override {
    if (oversized_.count(u) > 0) return std::nullopt;
    std::vector<std::vector<int32_t>> out;
    for (size_t n : rows_[u]) out.emplace_back(n, 7);
    return out;
  }
  absl::Status RunBatch(const std::vector<PlannedUnit>& planned,
                        const std::vector<BatchRow>& rows,
                        const StopSignal&) override {
    std::vector<size_t> batch;
    for (const BatchRow& r : rows) {
      batch.push_back(planned[r.planned].rows[r.row].size());
      // Another call caches unit 5 while this batch runs.
      if (cache_unit_5_while_running_) cached_.insert(5);
    }
    batches_.push_back(batch);
    return absl::OkStatus();
  }
  void Finish(size_t, const PlannedUnit& unit) override {
    finished_.push_back(unit.unit);
  }

  std::vector<std::vector<size_t>> rows_;
  std::set<uint32_t> cached_, oversized_, from_cache_;
  std::vector<std::vector<size_t>> batches_;
  std::vector<uint32_t> finished_;
  bool cache_unit_5_while_running_ = false;
};

// A request of `n` units of one sequence, BM25's order given.
ViewRequest Request(size_t n, std::vector<uint32_t> priority = {}) {
  ViewRequest request;
  request.sequences.push_back({"digest", "", nullptr, nullptr});
  for (uint32_t u = 0; u < n; ++u) {
    request.units.push_back({0, 0, 0, u * 10, u * 10 + 10});
  }
  request.scored = n;
  request.priority = std::move(priority);
  return request;
}

TEST(BudgetedBatchesTest, RunsInPriorityOrderWithinTheBudgetAndCandidates) {
  RecordingModel model({{10}, {10}, {10}, {10}, {10}, {30}});
  model.cached_ = {2};
  ModelGate gate;
  ViewUsage usage;
  BatchLimits limits;
  limits.budget_tokens = 25;
  limits.candidates = 5;
  limits.batch_rows = 8;
  // Priority 5, 4, 3, 2, 1, 0: unit 5 (30 tokens) is over the budget but
  // is the first, within max(budget, first allowance); then 4 does not fit
  // (30 + 10 > 25) and the cut ends there.
  limits.first_allowance = 40;
  ASSERT_TRUE(RunBudgetedBatches(Request(6, {5, 4, 3, 2, 1, 0}), limits, &model,
                                 &gate, "test", &usage)
                  .ok());
  EXPECT_THAT(model.finished_, ElementsAre(5));
  EXPECT_THAT(model.from_cache_, ElementsAre(2));
  EXPECT_EQ(usage.unjudged_units, 4u);  // 4, 3, 1 (budget); 0 (candidates).
  EXPECT_EQ(usage.encoded_tokens, 30u);
  EXPECT_FALSE(usage.cache_hit);
}

TEST(BudgetedBatchesTest, OversizedUnitsAreCountedAndSkipped) {
  RecordingModel model({{4}, {4}, {4}});
  model.oversized_ = {1};
  ModelGate gate;
  ViewUsage usage;
  ASSERT_TRUE(
      RunBudgetedBatches(Request(3), {}, &model, &gate, "test", &usage).ok());
  EXPECT_THAT(model.finished_, ElementsAre(0, 2));
  EXPECT_EQ(usage.unjudged_units, 1u);
  EXPECT_EQ(usage.oversized_units, 1u);
}

TEST(BudgetedBatchesTest, BatchesByRowsAndTokensSortedWithinWindows) {
  // Unit 0 has two rows: it finishes only when both have run.
  RecordingModel model({{9, 1}, {5}, {3}, {8}});
  ModelGate gate;
  ViewUsage usage;
  BatchLimits limits;
  limits.batch_rows = 2;
  limits.batch_tokens = 10;
  limits.row_overhead = 1;
  ASSERT_TRUE(
      RunBudgetedBatches(Request(4), limits, &model, &gate, "test", &usage)
          .ok());
  // Rows sorted by length within a window of 4 * 2 rows: 1, 3, 5, 8, 9;
  // then cut at 2 rows or 10 tokens (with the overhead) a batch; a row
  // alone over the cap still runs.
  EXPECT_THAT(model.batches_, ElementsAre(ElementsAre(1, 3), ElementsAre(5),
                                          ElementsAre(8), ElementsAre(9)));
  EXPECT_THAT(model.finished_, ElementsAre(2, 1, 3, 0));
  EXPECT_EQ(usage.encoded_tokens, 26u + 5u);
  EXPECT_EQ(usage.unjudged_units, 0u);
}

TEST(BudgetedBatchesTest, AUnitCachedByAnotherCallMeanwhileIsNotRunAgain) {
  RecordingModel model({{2}, {2}, {2}, {2}, {2}, {2}});
  model.cache_unit_5_while_running_ = true;
  ModelGate gate;
  ViewUsage usage;
  BatchLimits limits;
  limits.batch_rows = 1;
  ASSERT_TRUE(
      RunBudgetedBatches(Request(6), limits, &model, &gate, "test", &usage)
          .ok());
  EXPECT_THAT(model.finished_, ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(model.from_cache_, ElementsAre(5));
}

TEST(BudgetedBatchesTest, EverythingCachedIsACacheHit) {
  RecordingModel model({{2}, {2}});
  model.cached_ = {0, 1};
  ModelGate gate;
  ViewUsage usage;
  usage.cache_hit = false;
  ASSERT_TRUE(
      RunBudgetedBatches(Request(2), {}, &model, &gate, "test", &usage).ok());
  EXPECT_TRUE(usage.cache_hit);
  EXPECT_TRUE(model.batches_.empty());
}

TEST(BudgetedBatchesTest, ConsiderLimitsTheUnitsJudgedAtAll) {
  RecordingModel model({{2}, {2}, {2}, {2}});
  ModelGate gate;
  ViewUsage usage;
  BatchLimits limits;
  limits.consider = 2;
  ASSERT_TRUE(RunBudgetedBatches(Request(4, {3, 1, 0, 2}), limits, &model,
                                 &gate, "test", &usage)
                  .ok());
  EXPECT_THAT(model.finished_, ::testing::UnorderedElementsAre(3, 1));
  EXPECT_EQ(usage.unjudged_units, 0u);  // Not candidates at all.
}

}  // namespace
}  // namespace attnr::views

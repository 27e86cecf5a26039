#ifndef ATTNR_MODEL_VIEWS_BUDGETED_BATCHES_H_
#define ATTNR_MODEL_VIEWS_BUDGETED_BATCHES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "model/views/model_gate.h"
#include "model/views/scoring_view.h"

namespace attnr::views {

// How much new model work one call of a neural view may do, and in what
// batches.
struct BatchLimits {
  // New-work tokens (0: no budget; a warm-up has none).
  uint64_t budget_tokens = 0;
  // With a budget, only the first `candidates` units of the priority order
  // may get new work; the others are judged only from the cache (0: any).
  size_t candidates = 0;
  // Only the first `consider` units of the priority order are judged at
  // all, cached or not (0: every scored unit).
  size_t consider = 0;
  // The first unit run may cost up to max(budget_tokens, this), so a
  // budget below one unit still judges one.
  uint64_t first_allowance = 0;
  // A batch (one model turn) holds at most `batch_rows` rows and, past its
  // first row, at most `batch_tokens` tokens (0: no cap).
  size_t batch_rows = 8;
  uint64_t batch_tokens = 0;
  // Tokens a row costs beyond its ids (an encoder's [CLS] and [SEP]).
  uint64_t row_overhead = 0;
};

// A unit a call runs the model on: its cache key and its rows (the model's
// token ids; a unit longer than the model's window is several rows).
struct PlannedUnit {
  uint32_t unit = 0;
  std::string key;
  std::vector<std::vector<int32_t>> rows;
};

// One row of a batch: row `row` of planned unit `planned`.
struct BatchRow {
  size_t planned = 0;
  size_t row = 0;
};

// What a neural view supplies: keys, sizes, the model step and storage.
// The skeleton (RunBudgetedBatches) owns the order, the candidate and
// budget cut, the batching and the pacing.
class BatchedModel {
 public:
  virtual ~BatchedModel() = default;
  // The cache key of `unit` (model digest, sequence digest, byte range).
  virtual std::string Key(const ViewRequest& request, uint32_t unit) const = 0;
  // Takes `unit` from the cache into the call's result; false when it is
  // not cached.
  virtual bool FromCache(uint32_t unit, const std::string& key) = 0;
  // The unit's rows in the model's token ids. nullopt: longer than the
  // view's window (never judged: ViewUsage::oversized_units); empty:
  // nothing to read.
  virtual std::optional<std::vector<std::vector<int32_t>>> Rows(
      const ViewRequest& request, uint32_t unit) = 0;
  // Runs the model on `rows` of `planned` (the call holds a model turn)
  // and keeps each row's output.
  virtual absl::Status RunBatch(const std::vector<PlannedUnit>& planned,
                                const std::vector<BatchRow>& rows,
                                const StopSignal& stop) = 0;
  // Every row of `unit` (planned[planned]) has run: cache it and put it in
  // the call's result.
  virtual void Finish(size_t planned, const PlannedUnit& unit) = 0;
};

// The request's scored units in the order a budget is spent: its priority
// (the cheap views' fused order), or document order without one.
std::vector<uint32_t> PriorityOrder(const ViewRequest& request);

// The cache key of a unit's model output: the model's digest, the
// sequence's digest and the unit's byte range.
std::string UnitCacheKey(absl::string_view model_sha256,
                         const ViewRequest& request, uint32_t unit);

// A neural view's new work for one call. Units in the request's priority
// order (document order without one): a cached unit is taken as it is; a
// missing one runs if it is a candidate, fits its window and fits the
// budget in the model's own tokens (a unit that does not fit is left for a
// later call; a smaller one after it may still fit). Rows of similar length
// batch together (less padding) within windows of a few batches taken in
// priority order, so a call paced by its deadline (DeadlinePacer) has
// judged the units ranked highest. Each batch is one turn of `gate`, so
// other calls' model work interleaves; before a batch runs, a unit another
// call has cached since is taken from the cache instead. A unit is cached
// as soon as its last row has run, so work survives a cancel. Units left
// (budget, window, deadline) count as unjudged in *usage.
absl::Status RunBudgetedBatches(const ViewRequest& request,
                                const BatchLimits& limits, BatchedModel* model,
                                ModelGate* gate, absl::string_view stage,
                                ViewUsage* usage);

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_BUDGETED_BATCHES_H_

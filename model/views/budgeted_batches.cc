#include "model/views/budgeted_batches.h"

#include <algorithm>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/runtime/status_macros.h"
#include "model/views/deadline_pacer.h"

namespace attnr::views {
namespace {

uint64_t CostOf(const std::vector<int32_t>& row, const BatchLimits& limits) {
  return row.size() + limits.row_overhead;
}

// The units to run, in priority order, within the limits.
std::vector<PlannedUnit> Plan(const ViewRequest& request,
                              const BatchLimits& limits, BatchedModel* model,
                              ViewUsage* usage) {
  std::vector<uint32_t> order = PriorityOrder(request);
  if (limits.consider > 0 && order.size() > limits.consider) {
    order.resize(limits.consider);
  }
  const uint64_t budget = limits.budget_tokens;
  const uint64_t first_allowance = std::max(budget, limits.first_allowance);
  std::vector<PlannedUnit> planned;
  uint64_t spent = 0;
  for (size_t rank = 0; rank < order.size(); ++rank) {
    const uint32_t u = order[rank];
    std::string key = model->Key(request, u);
    if (model->FromCache(u, key)) continue;
    const bool candidate =
        budget == 0 || limits.candidates == 0 || rank < limits.candidates;
    if (!candidate || (budget > 0 && spent >= budget)) {
      ++usage->unjudged_units;
      continue;
    }
    std::optional<std::vector<std::vector<int32_t>>> rows =
        model->Rows(request, u);
    if (!rows.has_value()) {
      ++usage->unjudged_units;
      ++usage->oversized_units;
      continue;
    }
    uint64_t cost = 0;
    for (const auto& row : *rows) cost += CostOf(row, limits);
    if (rows->empty() ||
        (budget > 0 &&
         spent + cost > (spent == 0 ? first_allowance : budget))) {
      ++usage->unjudged_units;
      continue;
    }
    spent += cost;
    planned.push_back({u, std::move(key), *std::move(rows)});
  }
  return planned;
}

}  // namespace

std::vector<uint32_t> PriorityOrder(const ViewRequest& request) {
  if (request.priority.size() == request.scored) return request.priority;
  std::vector<uint32_t> order(request.scored);
  std::iota(order.begin(), order.end(), 0);
  return order;
}

std::string UnitCacheKey(absl::string_view model_sha256,
                         const ViewRequest& request, uint32_t u) {
  const Unit& unit = request.units[u];
  return absl::StrCat(model_sha256, ":",
                      request.sequences[unit.sequence].digest, ":",
                      unit.begin_byte, "-", unit.end_byte);
}

absl::Status RunBudgetedBatches(const ViewRequest& request,
                                const BatchLimits& limits, BatchedModel* model,
                                ModelGate* gate, absl::string_view stage,
                                ViewUsage* usage) {
  const std::vector<PlannedUnit> planned = Plan(request, limits, model, usage);
  usage->cache_hit = planned.empty() && usage->unjudged_units == 0;
  std::vector<BatchRow> rows;
  for (size_t i = 0; i < planned.size(); ++i) {
    for (size_t r = 0; r < planned[i].rows.size(); ++r) rows.push_back({i, r});
  }
  auto length = [&](const BatchRow& row) {
    return planned[row.planned].rows[row.row].size();
  };
  const size_t batch_rows = std::max<size_t>(1, limits.batch_rows);
  const size_t window = 4 * batch_rows;
  for (size_t w = 0; w < rows.size(); w += window) {
    std::stable_sort(rows.begin() + w,
                     rows.begin() + std::min(rows.size(), w + window),
                     [&](const BatchRow& a, const BatchRow& b) {
                       return length(a) < length(b);
                     });
  }
  std::vector<size_t> pending(planned.size());  // Rows still to run.
  for (size_t i = 0; i < planned.size(); ++i) {
    pending[i] = planned[i].rows.size();
  }
  std::vector<bool> done(planned.size(), false);
  DeadlinePacer pacer(request.stop.deadline());
  for (size_t first = 0, last = 0; first < rows.size(); first = last) {
    uint64_t tokens = 0;
    for (last = first; last < rows.size() && last - first < batch_rows;
         ++last) {
      const uint64_t cost =
          CostOf(planned[rows[last].planned].rows[rows[last].row], limits);
      if (last > first && limits.batch_tokens > 0 &&
          tokens + cost > limits.batch_tokens) {
        break;
      }
      tokens += cost;
    }
    if (!pacer.Fits(tokens)) break;
    ASSIGN_OR_RETURN(auto turn, gate->Take(request.stop, stage));
    std::vector<BatchRow> batch;
    uint64_t encoded = 0;
    for (size_t r = first; r < last; ++r) {
      const size_t i = rows[r].planned;
      if (done[i]) continue;
      // Cached by a concurrent call since it was planned.
      if (model->FromCache(planned[i].unit, planned[i].key)) {
        done[i] = true;
        continue;
      }
      batch.push_back(rows[r]);
      encoded += CostOf(planned[i].rows[rows[r].row], limits);
    }
    if (batch.empty()) continue;
    RETURN_IF_ERROR(model->RunBatch(planned, batch, request.stop));
    for (const BatchRow& row : batch) {
      if (--pending[row.planned] == 0) {
        model->Finish(row.planned, planned[row.planned]);
        done[row.planned] = true;
      }
    }
    usage->encoded_tokens += encoded;
    pacer.Done(encoded);
  }
  // Left by the deadline's pacing.
  for (size_t i = 0; i < planned.size(); ++i) {
    if (!done[i]) ++usage->unjudged_units;
  }
  return absl::OkStatus();
}

}  // namespace attnr::views

#include "model/views/view_runner.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/request_field.h"
#include "model/runtime/status_macros.h"

namespace attnr::views {
namespace {

// Adds what a view spent into the call's usage.
void AddSpent(const ViewUsage& spent, RetrievalUsage* usage) {
  usage->encoded_tokens += spent.encoded_tokens;
  // Left by the budget or the deadline's pacing (or over a window).
  usage->unjudged_passages += spent.unjudged_units;
  usage->oversized_passages += spent.oversized_units;
  usage->times.encode_ms += spent.derive_ms;
}

}  // namespace

ViewRunner::ViewRunner(std::vector<std::unique_ptr<ScoringView>> views,
                       std::unique_ptr<ModelGate> gate,
                       std::optional<CalibratedFusion> fusion, Options options)
    : options_(std::move(options)),
      calibrated_fusion_(std::move(fusion)),
      gate_(std::move(gate)),
      views_(std::move(views)) {}

const ScoringView* ViewRunner::view(ViewKind kind) const {
  for (const auto& v : views_) {
    if (v->kind() == kind) return v.get();
  }
  return nullptr;
}

absl::StatusOr<std::vector<ScoreDetail>> ViewRunner::Score(
    ViewRequest& request, const std::vector<ViewKind>& kinds,
    const FusionWeights& view_weights, uint64_t budget_tokens,
    RetrievalUsage* usage, std::vector<std::vector<double>>* sentence_attention,
    CalibratedFusion::Units units) const {
  std::vector<ScoreDetail> details(request.scored);
  for (ScoreDetail& d : details) {
    for (ViewKind v : kinds) d.views.push_back({v, 0, {}});
  }
  auto put = [&](size_t slot, ViewScores scores) {
    if (sentence_attention != nullptr && !scores.sentence_attention.empty()) {
      *sentence_attention = std::move(scores.sentence_attention);
    }
    for (size_t u = 0; u < request.scored; ++u) {
      details[u].views[slot].score = scores.scores[u];
      details[u].views[slot].judged =
          scores.judged.empty() || scores.judged[u] != 0;
      if (request.explain) {
        details[u].views[slot].reasons = std::move(scores.reasons[u]);
      }
    }
  };
  // Views that need no network first; their fused order tells the neural
  // views where to spend a budget.
  std::vector<ViewKind> cheap;
  bool any_neural = false;
  for (size_t slot = 0; slot < kinds.size(); ++slot) {
    const ScoringView* v = view(kinds[slot]);
    if (v->neural()) {
      any_neural = true;
      continue;
    }
    ViewUsage spent;
    ASSIGN_OR_RETURN(ViewScores scores, v->Score(request, nullptr, &spent));
    put(slot, std::move(scores));
    cheap.push_back(kinds[slot]);
  }
  if (!any_neural) {
    FuseAll(kinds, view_weights, &details, units);
    return details;
  }
  RETURN_IF_ERROR(SetPriority(request, cheap, budget_tokens, &details));
  // Neural views cheapest first (the registry's order: the sentence
  // encoder before the LLM); each later one spends its budget in the order
  // of everything judged before it.
  std::vector<size_t> neural_slots;
  for (const ViewInfo& info : AllViews()) {
    for (size_t slot = 0; slot < kinds.size(); ++slot) {
      if (kinds[slot] == info.kind && view(kinds[slot])->neural()) {
        neural_slots.push_back(slot);
      }
    }
  }
  std::vector<ViewKind> done = cheap;
  bool all_hit = true;
  for (size_t slot : neural_slots) {
    const ScoringView* v = view(kinds[slot]);
    if (done.size() > cheap.size()) {
      Fuse(done, options_.fusion_weights, &details);
      request.priority = FusedOrder(details);
    }
    ViewUsage spent;
    ASSIGN_OR_RETURN(auto derived, v->Derive(request, budget_tokens, &spent));
    ASSIGN_OR_RETURN(ViewScores scores,
                     v->Score(request, derived.get(), &spent));
    put(slot, std::move(scores));
    all_hit &= spent.cache_hit;
    AddSpent(spent, usage);
    done.push_back(kinds[slot]);
  }
  usage->cache_hit = all_hit;
  FuseAll(kinds, view_weights, &details, units);
  return details;
}

absl::Status ViewRunner::SetPriority(ViewRequest& request,
                                     const std::vector<ViewKind>& cheap,
                                     uint64_t budget_tokens,
                                     std::vector<ScoreDetail>* details) const {
  if (!cheap.empty()) {
    Fuse(cheap, options_.fusion_weights, details);
    request.priority = FusedOrder(*details);
    return absl::OkStatus();
  }
  if (budget_tokens == 0 && request.stop.deadline() == absl::InfiniteFuture()) {
    return absl::OkStatus();  // Every unit is judged: order is moot.
  }
  // A budget (or the time to a deadline, which paces the neural views) is
  // spent on the passages BM25 ranks highest even when the request does not
  // fuse BM25 (document order would spend it on the document's first
  // passages).
  ViewUsage spent;
  ASSIGN_OR_RETURN(ViewScores lexical,
                   view(ViewKind::kLexical)->Score(request, nullptr, &spent));
  std::vector<ScoreDetail> order(request.scored);
  for (size_t u = 0; u < request.scored; ++u) {
    order[u].views.push_back({ViewKind::kLexical, lexical.scores[u], {}});
  }
  Fuse({ViewKind::kLexical}, options_.fusion_weights, &order);
  request.priority = FusedOrder(order);
  return absl::OkStatus();
}

absl::Status ViewRunner::Warm(const ViewRequest& request,
                              const std::vector<ViewKind>& kinds,
                              RetrievalUsage* usage) const {
  bool all_hit = true;
  for (ViewKind kind : kinds) {
    const ScoringView* v = view(kind);
    if (!v->neural()) continue;
    ViewUsage spent;
    ASSIGN_OR_RETURN(auto derived,
                     v->Derive(request, /*budget_tokens=*/0, &spent));
    all_hit &= spent.cache_hit;
    AddSpent(spent, usage);
  }
  usage->cache_hit = all_hit;
  return absl::OkStatus();
}

void ViewRunner::FuseAll(const std::vector<ViewKind>& kinds,
                         const FusionWeights& view_weights,
                         std::vector<ScoreDetail>* details,
                         CalibratedFusion::Units units) const {
  if (calibrated_fusion_.has_value() && calibrated_fusion_->Covers(kinds)) {
    calibrated_fusion_->Fuse(details, units, view_weights);
    return;
  }
  FusionWeights weights = options_.fusion_weights;
  for (const auto& [v, w] : view_weights) weights[v] = w;
  Fuse(kinds, weights, details);
}

absl::StatusOr<FusionWeights> ViewRunner::ResolveViewWeights(
    const std::vector<std::pair<ViewKind, double>>& requested,
    const std::vector<ViewKind>& kinds) const {
  FusionWeights out;
  bool any_positive = false;
  for (const auto& [v, w] : requested) {
    if (std::find(kinds.begin(), kinds.end(), v) == kinds.end()) {
      std::vector<std::string> names;
      for (ViewKind k : kinds) names.push_back(InfoOf(k).cli_name);
      return AtField(absl::InvalidArgumentError(absl::StrCat(
                         "names ", InfoOf(v).cli_name,
                         ", which this request does not fuse (its views: ",
                         absl::StrJoin(names, ", "), ")")),
                     RequestField::kViewWeights);
    }
    out[v] = w;
    any_positive |= w > 0;
  }
  if (!out.empty() && out.size() == kinds.size() && !any_positive) {
    return AtField(absl::InvalidArgumentError("every fused view would weigh 0"),
                   RequestField::kViewWeights);
  }
  return out;
}

uint64_t ViewRunner::BudgetWithin(const StopSignal& stop) const {
  const uint64_t configured = options_.neural_budget_tokens;
  const double rate = encode_rate_.load(std::memory_order_relaxed);
  if (stop.deadline() == absl::InfiniteFuture() || rate <= 0) {
    return configured;
  }
  const double left_ms =
      absl::ToDoubleMilliseconds(stop.deadline() - absl::Now());
  const uint64_t fits =
      static_cast<uint64_t>(std::max(1.0, 0.5 * left_ms * rate));
  return configured == 0 ? fits : std::min(configured, fits);
}

void ViewRunner::RecordEncodeRate(const RetrievalUsage& usage) const {
  // Only calls that encoded enough to measure (a query alone is noise).
  if (usage.encoded_tokens < 256 || usage.times.encode_ms <= 0) return;
  const double rate = usage.encoded_tokens / usage.times.encode_ms;
  double old = encode_rate_.load(std::memory_order_relaxed);
  // Waits for the model under load count: the rate is what a call gets.
  while (!encode_rate_.compare_exchange_weak(
      old, old == 0 ? rate : 0.7 * old + 0.3 * rate)) {
  }
}

}  // namespace attnr::views

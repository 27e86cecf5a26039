#include "model/views/dense_view.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "model/runtime/status_macros.h"
#include "model/views/budgeted_batches.h"

namespace attnr::views {
namespace {

struct DenseInputs : ScoringView::Derived {
  std::vector<float> query;  // [dim], normalised.
  // Per scored unit; null when the budget left it unjudged.
  std::vector<std::shared_ptr<const UnitEmbedding>> units;
};

void Normalize(float* row, int64_t dim) {
  double norm = 0;
  for (int64_t i = 0; i < dim; ++i) norm += double{row[i]} * row[i];
  norm = std::sqrt(norm);
  if (norm <= 1e-12) return;
  for (int64_t i = 0; i < dim; ++i) row[i] = static_cast<float>(row[i] / norm);
}

}  // namespace

DenseView::DenseView(std::unique_ptr<bert::BertEncoder> encoder,
                     DenseViewParams params, size_t cache_bytes,
                     ModelGate* gate)
    : encoder_(std::move(encoder)),
      params_(std::move(params)),
      cache_(cache_bytes),
      gate_(gate) {}

std::vector<std::vector<int32_t>> DenseView::Pieces(
    absl::string_view text) const {
  const std::vector<tokenizers::WordPiece> pieces =
      encoder_->tokenizer().Tokenize(text);
  const size_t window = static_cast<size_t>(encoder_->max_tokens());
  std::vector<std::vector<int32_t>> out;
  for (size_t start = 0; start < pieces.size() || out.empty();
       start += window) {
    std::vector<int32_t>& ids = out.emplace_back();
    for (size_t k = start; k < std::min(pieces.size(), start + window); ++k) {
      ids.push_back(pieces[k].id);
    }
  }
  return out;
}

size_t DenseView::QueryModelTokens(absl::string_view query) const {
  return encoder_->tokenizer()
      .Tokenize(absl::StrCat(params_.query_prefix, query))
      .size();
}

// Units are embedded piece by piece (a piece a row), each piece
// normalised, and cached once every piece of the unit is embedded.
class DenseView::Work : public BatchedModel {
 public:
  Work(const DenseView& view, DenseInputs* out) : view_(view), out_(out) {}

  std::string Key(const ViewRequest& request, uint32_t u) const override {
    return UnitCacheKey(view_.encoder_->sha256(), request, u);
  }
  bool FromCache(uint32_t unit, const std::string& key) override {
    out_->units[unit] = view_.cache_.Get(key);
    return out_->units[unit] != nullptr;
  }
  std::optional<std::vector<std::vector<int32_t>>> Rows(
      const ViewRequest& request, uint32_t u) override {
    const Unit& unit = request.units[u];
    std::vector<std::vector<int32_t>> pieces =
        view_.Pieces(request.sequences[unit.sequence].text.substr(
            unit.begin_byte, unit.end_byte - unit.begin_byte));
    if (pieces.size() > view_.params_.max_unit_pieces) return std::nullopt;
    return pieces;
  }
  absl::Status RunBatch(const std::vector<PlannedUnit>& planned,
                        const std::vector<BatchRow>& rows,
                        const StopSignal& stop) override {
    const int64_t dim = view_.encoder_->dim();
    embedded_.resize(planned.size());
    std::vector<std::vector<int32_t>> batch;
    for (const BatchRow& row : rows) {
      batch.push_back(planned[row.planned].rows[row.row]);
    }
    ASSIGN_OR_RETURN(auto vectors, view_.encoder_->Embed(batch, stop));
    for (size_t b = 0; b < rows.size(); ++b) {
      std::vector<float>& unit = embedded_[rows[b].planned];
      unit.resize(planned[rows[b].planned].rows.size() * dim);
      float* row = unit.data() + rows[b].row * dim;
      std::copy_n(vectors.data() + b * dim, dim, row);
      Normalize(row, dim);
    }
    return absl::OkStatus();
  }
  void Finish(size_t planned, const PlannedUnit& unit) override {
    auto made = std::make_shared<UnitEmbedding>();
    made->rows = std::move(embedded_[planned]);
    view_.cache_.Put(unit.key, made);
    out_->units[unit.unit] = std::move(made);
  }

 private:
  const DenseView& view_;
  DenseInputs* out_;
  std::vector<std::vector<float>> embedded_;  // Per planned unit.
};

absl::StatusOr<std::unique_ptr<const ScoringView::Derived>> DenseView::Derive(
    const ViewRequest& request, uint64_t budget_tokens,
    ViewUsage* usage) const {
  const absl::Time start = absl::Now();
  const int64_t dim = encoder_->dim();
  auto out = std::make_unique<DenseInputs>();
  out->units.resize(request.scored);

  // The query (a few tokens; none when warming documents up).
  if (!request.query_text.empty()) {
    std::vector<std::vector<int32_t>> query =
        Pieces(params_.query_prefix.empty()
                   ? request.query_text
                   : absl::StrCat(params_.query_prefix, request.query_text));
    ASSIGN_OR_RETURN(auto turn, gate_->Take(request.stop, "dense query",
                                            ModelGate::Work::kQuery));
    ASSIGN_OR_RETURN(auto embedded, encoder_->Embed(query));
    // A query longer than the window (rare: max_query_tokens words) is the
    // normalised mean of its pieces, so every word counts.
    out->query.assign(dim, 0.0f);
    for (size_t p = 0; p < query.size(); ++p) {
      Normalize(embedded.data() + p * dim, dim);
      for (int64_t k = 0; k < dim; ++k) out->query[k] += embedded[p * dim + k];
      usage->encoded_tokens += query[p].size() + 2;
    }
    Normalize(out->query.data(), dim);
  }

  BatchLimits limits;
  limits.budget_tokens = budget_tokens;
  limits.candidates = request.candidates;
  // A budget smaller than one window still judges a first unit of one
  // window.
  limits.first_allowance = static_cast<uint64_t>(encoder_->max_tokens()) + 2;
  limits.batch_rows = params_.batch_units;
  limits.row_overhead = 2;  // [CLS] and [SEP].
  Work work(*this, out.get());
  RETURN_IF_ERROR(
      RunBudgetedBatches(request, limits, &work, gate_, "dense encode", usage));
  usage->derive_ms += absl::ToDoubleMilliseconds(absl::Now() - start);
  return out;
}

absl::StatusOr<ViewScores> DenseView::Score(const ViewRequest& request,
                                            const Derived* derived,
                                            ViewUsage* usage) const {
  const auto* in = static_cast<const DenseInputs*>(derived);
  const int64_t dim = encoder_->dim();
  ViewScores out;
  out.scores.assign(request.scored, 0.0);
  out.judged.assign(request.scored, 0);
  if (request.explain) out.reasons.resize(request.scored);
  for (size_t u = 0; u < request.scored; ++u) {
    const UnitEmbedding* e = in->units[u].get();
    if (e == nullptr) continue;
    out.judged[u] = 1;
    double best = -1;
    for (size_t r = 0; r * dim < e->rows.size(); ++r) {
      double dot = 0;
      const float* row = e->rows.data() + r * dim;
      for (int64_t k = 0; k < dim; ++k) dot += double{row[k]} * in->query[k];
      best = std::max(best, dot);
    }
    // In (0, 1]: a judged unit always has some evidence for fusion.
    out.scores[u] = std::max((1.0 + best) / 2.0, 1e-9);
  }
  return out;
}

}  // namespace attnr::views

#include "model/views/dense_view.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "model/runtime/status_macros.h"
#include "model/views/deadline_pacer.h"

namespace attnr::views {
namespace {

struct DenseInputs : ScoringView::Prepared {
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

absl::StatusOr<std::unique_ptr<const ScoringView::Prepared>> DenseView::Prepare(
    const ViewRequest& request, uint64_t budget_tokens,
    ViewUsage* usage) const {
  const absl::Time start = absl::Now();
  const int64_t dim = encoder_->dim();
  auto out = std::make_unique<DenseInputs>();
  out->units.resize(request.scored);

  // Which scored units are missing, in priority order, and the budget.
  std::vector<uint32_t> order = request.priority;
  if (order.size() != request.scored) {
    order.resize(request.scored);
    std::iota(order.begin(), order.end(), 0);
  }
  std::vector<std::string> keys(request.scored);
  struct Missing {
    uint32_t unit;
    std::vector<std::vector<int32_t>> pieces;
    size_t tokens;  // With [CLS] and [SEP] per piece.
  };
  std::vector<Missing> missing;
  uint64_t spent = 0;
  // A budget smaller than one window still judges a first unit of one
  // window.
  const uint64_t first_allowance = std::max<uint64_t>(
      budget_tokens, static_cast<uint64_t>(encoder_->max_tokens()) + 2);
  for (size_t rank = 0; rank < order.size(); ++rank) {
    const uint32_t u = order[rank];
    const Unit& unit = request.units[u];
    const Sequence& seq = request.sequences[unit.sequence];
    keys[u] = absl::StrCat(encoder_->sha256(), ":", seq.digest, ":",
                           unit.begin_byte, "-", unit.end_byte);
    if ((out->units[u] = cache_.Get(keys[u])) != nullptr) continue;
    const bool candidate = budget_tokens == 0 || request.candidates == 0 ||
                           rank < request.candidates;
    if (!candidate || (budget_tokens > 0 && spent >= budget_tokens)) {
      ++usage->unjudged_units;
      continue;
    }
    Missing m{u,
              Pieces(seq.text.substr(unit.begin_byte,
                                     unit.end_byte - unit.begin_byte)),
              0};
    if (m.pieces.size() > params_.max_unit_pieces) {
      ++usage->unjudged_units;
      ++usage->oversized_units;
      continue;
    }
    for (const auto& p : m.pieces) m.tokens += p.size() + 2;
    // Within the budget in the encoder's own tokens: a unit that does not
    // fit is left for a later call, a smaller one after it may still fit.
    if (budget_tokens > 0 &&
        spent + m.tokens > (spent == 0 ? first_allowance : budget_tokens)) {
      ++usage->unjudged_units;
      continue;
    }
    spent += m.tokens;
    missing.push_back(std::move(m));
  }
  usage->cache_hit = missing.empty() && usage->unjudged_units == 0;

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

  // Similar lengths batch together (less padding) within windows of a few
  // batches taken in priority order, so a call paced by its deadline (below)
  // has judged the passages BM25 ranks highest. Each batch is one turn of
  // the model, so other requests' model work interleaves between them.
  std::vector<std::pair<size_t, size_t>> rows;  // (missing index, piece)
  for (size_t i = 0; i < missing.size(); ++i) {
    for (size_t p = 0; p < missing[i].pieces.size(); ++p)
      rows.emplace_back(i, p);
  }
  const size_t window = 4 * std::max<size_t>(1, params_.batch_units);
  for (size_t w = 0; w < rows.size(); w += window) {
    std::stable_sort(rows.begin() + w,
                     rows.begin() + std::min(rows.size(), w + window),
                     [&](const auto& a, const auto& b) {
                       return missing[a.first].pieces[a.second].size() <
                              missing[b.first].pieces[b.second].size();
                     });
  }
  std::vector<std::vector<float>> embedded(missing.size());
  std::vector<size_t> pending(missing.size());  // Pieces still to embed.
  for (size_t i = 0; i < missing.size(); ++i) {
    embedded[i].resize(missing[i].pieces.size() * dim);
    pending[i] = missing[i].pieces.size();
  }
  std::vector<bool> done(missing.size(), false);
  // A unit is cached as soon as its last piece is embedded (in the same
  // model turn), so work survives a cancel and concurrent first calls on
  // one document share it: each batch skips the units another call cached
  // since they were found missing.
  auto finish = [&](size_t i, std::shared_ptr<const UnitEmbedding> value) {
    if (value == nullptr) {
      auto made = std::make_shared<UnitEmbedding>();
      made->rows = std::move(embedded[i]);
      cache_.Put(keys[missing[i].unit], made);
      value = std::move(made);
    }
    out->units[missing[i].unit] = std::move(value);
    done[i] = true;
  };
  DeadlinePacer pacer(request.stop.deadline());
  for (size_t first = 0; first < rows.size(); first += params_.batch_units) {
    const size_t last = std::min(rows.size(), first + params_.batch_units);
    uint64_t next = 0;
    for (size_t r = first; r < last; ++r) {
      next += missing[rows[r].first].pieces[rows[r].second].size() + 2;
    }
    if (!pacer.Fits(next)) {
      for (size_t i = 0; i < missing.size(); ++i) {
        if (!done[i]) ++usage->unjudged_units;
      }
      break;
    }
    ASSIGN_OR_RETURN(auto turn, gate_->Take(request.stop, "dense encode"));
    std::vector<size_t> todo;
    std::vector<std::vector<int32_t>> batch;
    for (size_t r = first; r < last; ++r) {
      const size_t i = rows[r].first;
      if (done[i]) continue;
      if (auto cached = cache_.Get(keys[missing[i].unit]); cached != nullptr) {
        finish(i, std::move(cached));
        continue;
      }
      todo.push_back(r);
      batch.push_back(missing[i].pieces[rows[r].second]);
    }
    if (batch.empty()) continue;
    ASSIGN_OR_RETURN(auto vectors, encoder_->Embed(batch, request.stop));
    uint64_t encoded = 0;
    for (size_t b = 0; b < todo.size(); ++b) {
      const size_t i = rows[todo[b]].first;
      float* row = embedded[i].data() + rows[todo[b]].second * dim;
      std::copy_n(vectors.data() + b * dim, dim, row);
      Normalize(row, dim);
      encoded += batch[b].size() + 2;
      if (--pending[i] == 0) finish(i, nullptr);
    }
    usage->encoded_tokens += encoded;
    pacer.Done(encoded);
  }
  usage->prepare_ms += absl::ToDoubleMilliseconds(absl::Now() - start);
  return out;
}

absl::StatusOr<ViewScores> DenseView::Score(const ViewRequest& request,
                                            const Prepared* prepared,
                                            ViewUsage* usage) const {
  const auto* in = static_cast<const DenseInputs*>(prepared);
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

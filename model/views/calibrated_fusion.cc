#include "model/views/calibrated_fusion.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/runtime/digest.h"
#include "model/runtime/status_macros.h"

namespace attnr::views {

absl::StatusOr<CalibratedFusion> CalibratedFusion::Load(
    const std::string& path, const std::string& sha256) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  CalibratedFusion f;
  f.sha256_ = runtime::Sha256Hex(text.str());
  RETURN_IF_ERROR(runtime::CheckPinnedSha256(path, f.sha256_, sha256,
                                             "views.fusion.model_sha256"));
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(path, ": ", what));
  };
  if (!j.is_object() || j.value("method", "") != "convex") {
    return bad("not a convex fusion model (\"method\": \"convex\")");
  }
  const std::string norm = j.value("normalization", "");
  if (norm != "z" && norm != "minmax") {
    return bad("\"normalization\" must be \"z\" or \"minmax\"");
  }
  f.z_score_ = norm == "z";
  const auto& views = j.value("views", nlohmann::json::array());
  const auto& weights = j.value("weights", nlohmann::json::array());
  if (!views.is_array() || views.size() < 2 || weights.size() != views.size()) {
    return bad("\"views\" (two or more) and \"weights\" must match");
  }
  for (size_t i = 0; i < views.size(); ++i) {
    auto kind = views[i].is_string()
                    ? ViewFromCliName(views[i].get<std::string>())
                    : std::nullopt;
    if (!kind.has_value()) return bad(absl::StrCat("views[", i, "] unknown"));
    if (!weights[i].is_number() || weights[i].get<double>() < 0) {
      return bad(absl::StrCat("weights[", i, "] must be a number >= 0"));
    }
    f.views_.push_back(*kind);
    f.weights_.push_back(weights[i].get<double>());
  }
  // "calibration" is required; the others default to it.
  for (auto [key, out] :
       {std::pair<const char*, Platt*>{"calibration", &f.passages_},
        {"budgeted_calibration", &f.budgeted_},
        {"score_calibration", &f.candidate_}}) {
    if (!j.contains(key)) {
      if (out == &f.passages_) return bad("\"calibration\" is missing");
      continue;
    }
    const auto& cal = j[key];
    if (!cal.is_object() || !cal.contains("slope") ||
        !cal["slope"].is_number() || !cal.contains("intercept") ||
        !cal["intercept"].is_number()) {
      return bad(
          absl::StrCat("\"", key, "\" needs \"slope\" and \"intercept\""));
    }
    *out = {cal["slope"].get<double>(), cal["intercept"].get<double>()};
  }
  if (!j.contains("budgeted_calibration")) f.budgeted_ = f.passages_;
  if (!j.contains("score_calibration")) f.candidate_ = f.passages_;
  return f;
}

bool CalibratedFusion::Covers(const std::vector<ViewKind>& views) const {
  if (views.size() < 2) return false;
  for (ViewKind v : views) {
    if (std::find(views_.begin(), views_.end(), v) == views_.end()) {
      return false;
    }
  }
  return true;
}

std::string CalibratedFusion::Describe() const {
  std::string out = z_score_ ? "convex z-score" : "convex min-max";
  for (size_t v = 0; v < views_.size(); ++v) {
    if (weights_[v] == 0) continue;
    absl::StrAppend(&out, v == 0 ? " " : " + ", InfoOf(views_[v]).cli_name,
                    absl::StrFormat(" %g", weights_[v]));
  }
  return out;
}

namespace {

bool JudgedBy(const ScoreDetail& d, ViewKind view) {
  for (const ViewScore& v : d.views) {
    if (v.view == view) return v.judged;
  }
  return true;  // A view the request did not run: all its zeros are equal.
}

}  // namespace

void CalibratedFusion::Fuse(std::vector<ScoreDetail>* details, Units units,
                            const FusionWeights& overrides) const {
  const size_t n = details->size();
  std::vector<double> weights = weights_;
  for (size_t v = 0; v < views_.size(); ++v) {
    if (auto it = overrides.find(views_[v]); it != overrides.end()) {
      weights[v] = it->second;
    }
  }
  // Each view is normalised over the units every weighted view judged: a
  // budgeted request's dense view judges only BM25's best passages, and
  // counting the rest as zeros would squash its spread among them
  // (bench/results/FUSION.md, "Budgeted requests").
  std::vector<uint8_t> common(n, 1);
  bool complete = true;
  for (size_t v = 0; v < views_.size(); ++v) {
    if (weights[v] == 0) continue;
    for (size_t i = 0; i < n; ++i) {
      if (!JudgedBy((*details)[i], views_[v])) common[i] = 0, complete = false;
    }
  }
  const bool any_common =
      std::find(common.begin(), common.end(), 1) != common.end();
  std::vector<double> fused(n, 0.0);
  for (size_t v = 0; v < views_.size() && n > 0; ++v) {
    if (weights[v] == 0) continue;
    std::vector<double> stats;  // The values normalisation is taken over.
    std::vector<uint8_t> judged(n);
    for (size_t i = 0; i < n; ++i) {
      judged[i] = JudgedBy((*details)[i], views_[v]);
      // With no unit judged by all (a view's budget judged none), each
      // view over what it judged.
      if (any_common ? common[i] != 0 : judged[i] != 0) {
        stats.push_back((*details)[i].ScoreOf(views_[v]));
      }
    }
    // A view whose scores are all equal (or that judged nothing) says
    // nothing here.
    if (stats.empty()) continue;
    const double lo = *std::min_element(stats.begin(), stats.end());
    const double hi = *std::max_element(stats.begin(), stats.end());
    const double mean =
        std::accumulate(stats.begin(), stats.end(), 0.0) / stats.size();
    double var = 0;
    for (double x : stats) var += (x - mean) * (x - mean);
    const double sd = std::sqrt(var / stats.size());
    auto norm = [&](double x) {
      return z_score_ ? (sd > 0 ? (x - mean) / sd : 0.0)
                      : (hi > lo ? (x - lo) / (hi - lo) : 0.0);
    };
    // A unit the view left unread ranks as its worst judged one.
    const double unread = norm(lo);
    for (size_t i = 0; i < n; ++i) {
      fused[i] += weights[v] *
                  (judged[i] ? norm((*details)[i].ScoreOf(views_[v])) : unread);
    }
  }
  // A request's own weights were never calibrated: the logistic of the
  // plain combination keeps its order in (0, 1) (ranking stops at 0).
  const Platt cal = !overrides.empty()            ? Platt{}
                    : units == Units::kCandidates ? candidate_
                    : complete                    ? passages_
                                                  : budgeted_;
  for (size_t i = 0; i < n; ++i) {
    (*details)[i].fused =
        1.0 / (1.0 + std::exp(-(cal.slope * fused[i] + cal.intercept)));
  }
}

}  // namespace attnr::views

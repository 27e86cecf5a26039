#include "model/views/calibrated_fusion.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/runtime/digest.h"

namespace attnr::views {

absl::StatusOr<CalibratedFusion> CalibratedFusion::Load(
    const std::string& path, const std::string& sha256) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  CalibratedFusion f;
  f.sha256_ = runtime::Sha256Hex(text.str());
  if (!sha256.empty() && sha256 != f.sha256_) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has SHA-256 ", f.sha256_,
                     ", the configuration pins ", sha256,
                     " (fusion_model_sha256)"));
  }
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
  if (!views.is_array() || views.size() < 2 ||
      weights.size() != views.size()) {
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
  for (auto [key, slope, intercept] :
       {std::tuple<const char*, double*, double*>{"calibration", &f.slope_,
                                                  &f.intercept_},
        {"score_calibration", &f.candidate_slope_, &f.candidate_intercept_}}) {
    if (!j.contains(key) && std::string(key) == "score_calibration") {
      f.candidate_slope_ = f.slope_;
      f.candidate_intercept_ = f.intercept_;
      continue;
    }
    const auto& cal = j.value(key, nlohmann::json::object());
    if (!cal.is_object() || !cal.contains("slope") ||
        !cal["slope"].is_number() || !cal.contains("intercept") ||
        !cal["intercept"].is_number()) {
      return bad(absl::StrCat("\"", key, "\" needs \"slope\" and \"intercept\""));
    }
    *slope = cal["slope"].get<double>();
    *intercept = cal["intercept"].get<double>();
  }
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

void CalibratedFusion::Fuse(std::vector<ScoreDetail>* details,
                            Units units) const {
  const size_t n = details->size();
  std::vector<double> fused(n, 0.0);
  std::vector<double> col(n);
  for (size_t v = 0; v < views_.size() && n > 0; ++v) {
    if (weights_[v] == 0) continue;
    for (size_t i = 0; i < n; ++i) col[i] = (*details)[i].ScoreOf(views_[v]);
    const double lo = *std::min_element(col.begin(), col.end());
    const double hi = *std::max_element(col.begin(), col.end());
    const double mean = std::accumulate(col.begin(), col.end(), 0.0) / n;
    double var = 0;
    for (double x : col) var += (x - mean) * (x - mean);
    const double sd = std::sqrt(var / n);
    for (size_t i = 0; i < n; ++i) {
      // A view whose scores are all equal says nothing here.
      const double x = z_score_ ? (sd > 0 ? (col[i] - mean) / sd : 0.0)
                                : (hi > lo ? (col[i] - lo) / (hi - lo) : 0.0);
      fused[i] += weights_[v] * x;
    }
  }
  const bool candidates = units == Units::kCandidates;
  const double a = candidates ? candidate_slope_ : slope_;
  const double b = candidates ? candidate_intercept_ : intercept_;
  for (size_t i = 0; i < n; ++i) {
    (*details)[i].fused = 1.0 / (1.0 + std::exp(-(a * fused[i] + b)));
  }
}

}  // namespace attnr::views

#include "model/views/llm/attention_readout_file.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "model/runtime/digest.h"

namespace attnr::views {
namespace {

constexpr char kFormat[] = "attnr-llm-readout/1";

nlohmann::json Payload(const AttentionReadout& r) {
  return nlohmann::json{
      {"layers", r.layers},   {"heads", r.heads},
      {"mean", r.mean},       {"std", r.std},
      {"weights", r.weights}, {"length_weight", r.length_weight},
      {"eps", r.eps}};
}

}  // namespace

double AttentionReadout::Score(const std::vector<float>& masses,
                               int64_t tokens) const {
  double s = length_weight *
             std::log(static_cast<double>(std::max<int64_t>(tokens, 1)));
  for (size_t f = 0; f < weights.size(); ++f) {
    s += weights[f] * (std::log(masses[f] + eps) - mean[f]) / std[f];
  }
  return s;
}

std::string AttentionReadout::PayloadSha256() const {
  return runtime::Sha256Hex(Payload(*this).dump());
}

absl::StatusOr<AttentionReadout> ReadAttentionReadout(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat(path, " is not JSON"));
  }
  if (j.value("format", "") != kFormat) {
    return absl::DataLossError(absl::StrCat(path, ": format is not ", kFormat));
  }
  AttentionReadout r;
  try {
    r.model_sha256 = j.at("model_sha256").get<std::string>();
    r.model_name = j.value("model_name", "");
    r.layers = j.at("layers").get<std::vector<int>>();
    r.heads = j.at("heads").get<int64_t>();
    r.mean = j.at("mean").get<std::vector<float>>();
    r.std = j.at("std").get<std::vector<float>>();
    r.weights = j.at("weights").get<std::vector<float>>();
    r.length_weight = j.at("length_weight").get<float>();
    r.eps = j.at("eps").get<float>();
    const auto& p = j.at("prompt");
    r.prompt.prefix = p.at("prefix").get<std::string>();
    r.prompt.before_query = p.at("before_query").get<std::string>();
    r.prompt.after_query = p.at("after_query").get<std::string>();
    r.trained_on = j.value("trained_on", "");
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": ", e.what()));
  }
  if (r.layers.empty() || r.heads <= 0) {
    return absl::DataLossError(absl::StrCat(path, ": no layers or heads"));
  }
  for (const auto& [name, v] :
       {std::pair{"mean", &r.mean}, std::pair{"std", &r.std},
        std::pair{"weights", &r.weights}}) {
    if (v->size() != r.features()) {
      return absl::DataLossError(
          absl::StrCat(path, ": ", name, " has ", v->size(), " values, ",
                       r.features(), " expected (", kQueryGroups, " groups x ",
                       r.layers.size(), " layers x ", r.heads, " heads)"));
    }
  }
  for (float s : r.std) {
    if (!(s > 0)) return absl::DataLossError(absl::StrCat(path, ": std <= 0"));
  }
  if (j.value("payload_sha256", "") != r.PayloadSha256()) {
    return absl::DataLossError(absl::StrCat(
        path,
        ": payload_sha256 does not match its numbers (damaged or edited)"));
  }
  return r;
}

absl::Status WriteAttentionReadout(const AttentionReadout& r,
                                   const std::string& path) {
  nlohmann::json j = Payload(r);
  j["format"] = kFormat;
  j["model_sha256"] = r.model_sha256;
  j["model_name"] = r.model_name;
  j["prompt"] = {{"prefix", r.prompt.prefix},
                 {"before_query", r.prompt.before_query},
                 {"after_query", r.prompt.after_query}};
  j["trained_on"] = r.trained_on;
  j["payload_sha256"] = r.PayloadSha256();
  std::ofstream out(path);
  out << j.dump(1) << "\n";
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace attnr::views

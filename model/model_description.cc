#include "model/model_description.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "model/views/llm/llm_attention_view.h"

namespace attnr {

ModelDescription DescribeModel(const std::string& name,
                               const std::string& version,
                               const views::ViewRunner& runner,
                               const std::vector<ViewKind>& default_views) {
  ModelDescription out;
  out.name = name;
  out.version = version;
  std::vector<std::string> parts = {
      "In-document BM25 over sentence-packed passages (Snowball English "
      "stemmer, stopwords removed)"};
  for (const auto& v : runner.views()) {
    out.views.push_back(v->kind());
    if (!v->neural()) continue;
    out.models.push_back({v->kind(), v->model_name(), v->model_sha256()});
  }
  if (runner.view(ViewKind::kEntity) != nullptr) {
    parts.push_back(
        "entity weighting (the query's rare entities, from each document's "
        "entity graph)");
  }
  if (const views::ScoringView* dense = runner.view(ViewKind::kDense)) {
    parts.push_back(absl::StrCat("pretrained sentence encoder ",
                                 dense->model_name(),
                                 " (cosine of query and passage embeddings)"));
  }
  if (const views::ScoringView* llm = runner.view(ViewKind::kLlm)) {
    parts.push_back(absl::StrCat(
        "pretrained decoder LLM ", llm->model_name(),
        " reading the best candidates, its question-to-passage attention "
        "combined by a trained read-out (AttentionRetriever)"));
    // The weights this service trained: the LLM view's read-out.
    out.weights_sha256 = static_cast<const views::LlmAttentionView*>(llm)
                             ->readout()
                             .PayloadSha256();
  }
  if (runner.view(ViewKind::kDense) == nullptr &&
      runner.view(ViewKind::kLlm) == nullptr) {
    parts.push_back("no model loaded");
  }
  const auto& fusion = runner.calibrated_fusion();
  out.description = absl::StrCat(
      absl::StrJoin(parts, "; "),
      fusion.has_value()
          ? absl::StrCat(
                ". The default views are fused by ", fusion->Describe(),
                ", chosen by cross-validation on real questions and "
                "calibrated (a passage's score estimates its probability of "
                "answering the question among the request's passages; fusion "
                "model sha256 ",
                fusion->sha256().substr(0, 12),
                "...); other sets of views by weighted reciprocal rank.")
          : ". Views are fused by weighted reciprocal rank.");
  out.default_views = default_views.empty() ? out.views : default_views;
  return out;
}

}  // namespace attnr

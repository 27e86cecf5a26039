#include "server/model_config.h"

#include "model/runtime/status_macros.h"
#include "server/api_mapping.h"

namespace attnr::server {

absl::StatusOr<RetrieverConfig> ToRetrieverConfig(
    const attnr::v1::ServerConfig& c) {
  RetrieverConfig rc;
  rc.model_name = c.model_name();
  rc.model_version = c.model_version();
  const attnr::v1::LimitsConfig& limits = c.limits();
  rc.limits.max_document_tokens = limits.max_document_tokens();
  rc.limits.max_request_tokens = limits.max_request_tokens();
  rc.limits.max_query_tokens = limits.max_query_tokens();
  rc.limits.max_query_model_tokens = limits.max_query_model_tokens();
  rc.limits.max_document_sentences = limits.max_document_sentences();
  rc.context_passage_tokens = limits.default_passage_tokens();
  rc.cache_bytes = c.cache().bytes();
  const attnr::v1::ViewsConfig& views = c.views();
  rc.threads = static_cast<int>(views.intra_op_threads());
  for (const auto& [name, weight] : views.fusion().weights()) {
    rc.fusion_weights[*ViewFromCliName(name)] = weight;  // Validated.
  }
  rc.fusion_model_path = views.fusion().model();
  rc.fusion_model_sha256 = views.fusion().model_sha256();
  rc.dense_model_path = views.dense().model();
  rc.dense_model_sha256 = views.dense().model_sha256();
  rc.dense_view.query_prefix = views.dense().query_prefix();
  rc.dense_view.device = views.dense().device();
  rc.llm_model_path = views.llm().model();
  rc.llm_model_sha256 = views.llm().model_sha256();
  rc.llm_readout_path = views.llm().readout();
  rc.llm_readout_sha256 = views.llm().readout_sha256();
  rc.llm_view.candidates = views.llm().candidates();
  rc.llm_view.budget_tokens = views.llm().budget_tokens();
  rc.llm_view.device = views.llm().device();
  rc.neural_budget_tokens = views.neural_budget_tokens();
  rc.neural_candidates = views.neural_candidates();
  rc.entity_view = views.entity().enabled();
  rc.entity_view_options.max_sentence_share =
      views.entity().max_sentence_share();
  ASSIGN_OR_RETURN(rc.default_views,
                   FromProtoViews(views.default_views(),
                                  "server config: views.default_views"));
  return rc;
}

}  // namespace attnr::server

#include "server/model_config.h"

#include "model/runtime/status_macros.h"
#include "server/api_mapping.h"

namespace attnr::server {

absl::StatusOr<RetrieverConfig> ToRetrieverConfig(
    const attnr::v1::ServerConfig& c) {
  RetrieverConfig rc;
  rc.model_name = c.model_name();
  rc.model_version = c.model_version();
  rc.limits.max_document_tokens = c.max_document_tokens();
  rc.limits.max_request_tokens = c.max_request_tokens();
  rc.limits.max_query_tokens = c.max_query_tokens();
  rc.limits.max_query_model_tokens = c.max_query_model_tokens();
  rc.limits.max_document_sentences = c.max_document_sentences();
  rc.context_passage_tokens = c.default_passage_tokens();
  rc.threads = static_cast<int>(c.intra_op_threads());
  rc.cache_bytes = c.cache_bytes();
  for (const auto& [name, weight] : c.fusion_weights()) {
    rc.fusion_weights[*ViewFromCliName(name)] = weight;  // Validated.
  }
  rc.dense_model_path = c.dense_model();
  rc.dense_model_sha256 = c.dense_model_sha256();
  rc.dense_view.query_prefix = c.dense_query_prefix();
  rc.llm_model_path = c.llm_model();
  rc.llm_model_sha256 = c.llm_model_sha256();
  rc.fusion_model_path = c.fusion_model();
  rc.fusion_model_sha256 = c.fusion_model_sha256();
  rc.llm_readout_path = c.llm_readout();
  rc.llm_readout_sha256 = c.llm_readout_sha256();
  rc.llm_view.candidates = c.llm_candidates();
  rc.llm_view.budget_tokens = c.llm_budget_tokens();
  rc.llm_view.device = c.llm_device();
  rc.neural_budget_tokens = c.neural_budget_tokens();
  rc.neural_candidates = c.neural_candidates();
  rc.entity_view = c.entity_view();
  rc.entity_view_options.max_sentence_share = c.entity_max_sentence_share();
  ASSIGN_OR_RETURN(
      rc.default_views,
      FromProtoViews(c.default_views(), "server config: default_views"));
  return rc;
}

}  // namespace attnr::server

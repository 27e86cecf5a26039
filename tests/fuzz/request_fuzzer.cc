// Request validation on arbitrary bytes, both ways a request arrives: as an
// HTTP JSON body (/v1/retrieve, /v1/score, /v1/rerank shapes) and as a
// protobuf RetrieveRequest / ScoreRequest from gRPC; then the checks every
// transport shares (api_mapping). Every input is accepted or refused with a
// status; none crashes.
#include <cstdint>
#include <cstdlib>

#include "server/api_mapping.h"
#include "server/http_api.h"
#include "server/server_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const attnr::v1::ServerConfig config =
      attnr::server::DefaultServerConfig();
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1,
                                size - 1);
  attnr::v1::RetrieveRequest retrieve;
  attnr::v1::ScoreRequest score;
  switch (data[0] % 4) {
    case 0: {  // HTTP /v1/retrieve.
      auto body = attnr::server::ParseJsonBody(input);
      if (!body.ok()) return 0;
      auto r = attnr::server::RetrieveRequestFromJson(*body);
      if (!r.ok()) return 0;
      retrieve = *std::move(r);
      break;
    }
    case 1: {  // HTTP /v1/score and /v1/rerank.
      auto body = attnr::server::ParseJsonBody(input);
      if (!body.ok()) return 0;
      (void)attnr::server::RerankCallFromJson(*body);
      auto s = attnr::server::ScoreRequestFromJson(*body);
      if (!s.ok()) return 0;
      score = *std::move(s);
      break;
    }
    case 2:  // gRPC Retrieve.
      if (!retrieve.ParseFromArray(input.data(), input.size())) return 0;
      break;
    case 3:  // gRPC Score.
      if (!score.ParseFromArray(input.data(), input.size())) return 0;
      break;
  }
  (void)attnr::server::ToRetrieveCall(retrieve, config, attnr::StopSignal());
  (void)attnr::server::ToScoreCall(score, config, attnr::StopSignal());
  // Responses are built for valid requests only; errors render as JSON.
  (void)attnr::server::ErrorJson(absl::InvalidArgumentError(input), 400);
  return 0;
}

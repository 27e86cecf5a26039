#ifndef ATTNR_MODEL_VIEWS_LLM_ATTENTION_READOUT_FILE_H_
#define ATTNR_MODEL_VIEWS_LLM_ATTENTION_READOUT_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/views/llm/attention_reader.h"

namespace attnr::views {

// The trained read-out of the LLM attention view (attnr-train
// --llm_readout_input): which layers are read, and how the attention mass
// a passage gets from each query group, layer and head turns into its
// score:
//   score = sum_f weights[f] * (log(mass_f + eps) - mean[f]) / std[f]
//           + length_weight * log(passage tokens)
// with f = (group * layers + layer) * heads + head. Stored as JSON with the
// SHA-256 of its numbers, and the digest of the GGUF file it was trained
// on (a read-out is only valid with that backbone).
struct AttentionReadout {
  std::string model_sha256;
  std::string model_name;
  std::vector<int> layers;
  int64_t heads = 0;
  std::vector<float> mean, std, weights;
  float length_weight = 0;
  float eps = 1e-6f;
  ReaderPrompt prompt;
  std::string trained_on;  // What it was trained and measured on.

  size_t features() const {
    return kQueryGroups * layers.size() * static_cast<size_t>(heads);
  }
  double Score(const std::vector<float>& masses, int64_t tokens) const;
  // SHA-256 of the numbers (layers, heads, mean, std, weights, length
  // weight, eps) as the file stores them.
  std::string PayloadSha256() const;
};

// Errors: NOT_FOUND; DATA_LOSS (not JSON, a checksum or shape mismatch,
// naming the field).
absl::StatusOr<AttentionReadout> ReadAttentionReadout(const std::string& path);
absl::Status WriteAttentionReadout(const AttentionReadout& readout,
                                   const std::string& path);

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_LLM_ATTENTION_READOUT_FILE_H_

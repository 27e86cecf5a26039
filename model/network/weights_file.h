#ifndef ATTNR_MODEL_NETWORK_WEIGHTS_FILE_H_
#define ATTNR_MODEL_NETWORK_WEIGHTS_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "model/network/encoder.h"
#include "model/network/vocabulary.h"

namespace attnr::network {

// The one file a trained model ships as. Layout:
//   "ATTNRW01"                          magic and format version
//   u32 length, JSON header             name, version, encoder config, notes
//   u32 length, vocabulary              one word per line
//   u64 length, tensors                 LibTorch archive of the parameters
//   32 bytes                            SHA-256 of everything before it
// The loader checks the magic, the checksum, the header against what this
// build can run, and every tensor's shape, and refuses the file otherwise:
// the server never starts with weights it cannot vouch for.
struct ModelHeader {
  std::string name;
  std::string version;
  EncoderConfig encoder;
  std::string notes;  // Free text: training data, steps, date.
};

struct LoadedModel {
  ModelHeader header;
  Vocabulary vocabulary;
  Encoder encoder{nullptr};
  std::string sha256;  // Hex digest of the whole file.
};

absl::Status SaveWeights(const std::string& path, const ModelHeader& header,
                         const Vocabulary& vocabulary, Encoder& encoder);

// NOT_FOUND for a missing file, DATA_LOSS for a truncated or corrupt one,
// FAILED_PRECONDITION for a valid file this build cannot run.
absl::StatusOr<LoadedModel> LoadWeights(const std::string& path);

}  // namespace attnr::network

#endif  // ATTNR_MODEL_NETWORK_WEIGHTS_FILE_H_

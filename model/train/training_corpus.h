#ifndef ATTNR_MODEL_TRAIN_TRAINING_CORPUS_H_
#define ATTNR_MODEL_TRAIN_TRAINING_CORPUS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/network/vocabulary.h"

namespace attnr::train {

// A training document after the service's own text pipeline: token ids and
// sentence token ranges (so training sees exactly what serving sees).
struct TrainingDocument {
  std::vector<int64_t> ids;
  std::vector<int64_t> terms;  // network::TermKeys per token, if asked for.
  std::vector<std::pair<uint32_t, uint32_t>> sentences;  // Token ranges.
};

// A query with the sentences that answer it.
struct TrainingExample {
  uint32_t document = 0;
  std::vector<int64_t> query_ids;
  std::vector<int64_t> query_terms;
  std::vector<uint32_t> gold_sentences;  // Indices, ascending.
};

struct TrainingCorpus {
  std::vector<TrainingDocument> documents;
  std::vector<TrainingExample> examples;
};

// Reads corpus.json as written by model/train/build_corpus.py:
// {"documents": [{"id", "text"}], "examples": [{"doc", "query", "gold":
// [[start_char, end_char], ...]}]}. A sentence is gold when at least half of
// it lies inside a gold range (or it holds a gold range shorter than itself).
// With `with_terms`, documents and queries carry term keys too (for a model
// with token_match).
absl::StatusOr<TrainingCorpus> LoadTrainingCorpus(
    const std::string& path, const network::Vocabulary& vocabulary,
    bool with_terms);

}  // namespace attnr::train

#endif  // ATTNR_MODEL_TRAIN_TRAINING_CORPUS_H_

#ifndef ATTNR_MODEL_NETWORK_ATTENTION_MODEL_H_
#define ATTNR_MODEL_NETWORK_ATTENTION_MODEL_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/stop_signal.h"
#include "model/text/tokenizer.h"

namespace attnr::network {

// A document encoded once: its keys at every layer. Opaque outside the
// network code (no LibTorch types leak into the rest of the service).
class EncodedDocument {
 public:
  virtual ~EncodedDocument() = default;
  virtual size_t bytes() const = 0;
  virtual size_t tokens() const = 0;
};

// The attention mass a group of query tokens gives the documents.
struct QueryTokenMass {
  size_t first_query = 0;  // Query tokens [first_query, first_query + queries).
  size_t queries = 0;
  // Both point into the read-out's own tensors, valid during the visit only
  // (a copy would write every row twice on the request path).
  // Each token's weight in the read-out (learned from its context): the
  // total mass of its row over all the documents. All of a query's weights
  // sum to 1. [queries].
  const float* term_weights = nullptr;
  // Per document, in order: [queries x tokens], row-major (null for a
  // document with no tokens).
  std::vector<const float*> mass;
};

// The trained attention retriever as the service uses it: loads a weights
// file, encodes documents, and scores query tokens' attention over them.
// Thread-safe: inference only reads the parameters, and every call runs on
// the process's TorchThread (one OpenMP team for all LibTorch work).
class AttentionModel {
 public:
  // Errors: NOT_FOUND, DATA_LOSS (corrupt), FAILED_PRECONDITION (a file this
  // build cannot run), as LoadWeights.
  static absl::StatusOr<std::unique_ptr<AttentionModel>> Load(
      const std::string& path, int threads);
  ~AttentionModel();

  // Stops between blocks once `stop` fires (CANCELLED / DEADLINE_EXCEEDED).
  absl::StatusOr<std::shared_ptr<const EncodedDocument>> Encode(
      const std::vector<text::Token>& tokens,
      const StopSignal& stop = StopSignal()) const;

  // Attention mass per token of each document (one vector per document, in
  // order); all masses together sum to 1.
  absl::StatusOr<std::vector<std::vector<float>>> Relevance(
      const std::vector<text::Token>& query,
      const std::vector<const EncodedDocument*>& documents) const;

  // The same mass split by query token: calls `visit` once per group of at
  // most kQueryGroup query tokens, in query order (a group's rows are
  // [tokens] per document, so a 256-token query over 500k document tokens
  // never holds more than 16 rows at once). `visit` runs on the calling
  // thread, between the model's steps.
  static constexpr size_t kQueryGroup = 16;
  absl::Status VisitQueryTokenRelevance(
      const std::vector<text::Token>& query,
      const std::vector<const EncodedDocument*>& documents,
      const std::function<void(const QueryTokenMass&)>& visit,
      const StopSignal& stop = StopSignal()) const;

  const std::string& name() const;
  const std::string& version() const;
  const std::string& sha256() const;
  const std::string& notes() const;

 private:
  struct State;
  explicit AttentionModel(std::unique_ptr<State> state);
  // The public calls run these on the TorchThread.
  static absl::StatusOr<std::unique_ptr<AttentionModel>> LoadHere(
      const std::string& path, int threads);
  absl::StatusOr<std::shared_ptr<const EncodedDocument>> EncodeHere(
      const std::vector<text::Token>& tokens, const StopSignal& stop) const;
  // The read-out, one step per TorchThread job.
  struct ReadOut;
  absl::Status StartReadOut(const std::vector<text::Token>& query,
                            ReadOut* state) const;
  absl::Status ReadOutGroup(size_t first, size_t count, ReadOut* state) const;
  std::unique_ptr<State> state_;
};

}  // namespace attnr::network

#endif  // ATTNR_MODEL_NETWORK_ATTENTION_MODEL_H_

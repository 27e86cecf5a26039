#ifndef ATTNR_MODEL_VIEWS_MODEL_GATE_H_
#define ATTNR_MODEL_VIEWS_MODEL_GATE_H_

#include <cstdint>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "model/stop_signal.h"

namespace attnr::views {

// The one place that serializes the process's model work: every neural
// view takes a turn before it runs LibTorch (an encode, a read-out, a batch
// of embeddings) and holds it for the whole step.
//
// Why: one LibTorch call already uses every core through its intra-op
// threads; concurrent calls oversubscribe them (OpenMP teams spin against
// each other and throughput collapses). The views that need no model stay
// concurrent. A turn, unlike a plain mutex, is waited for in short slices,
// so a caller whose deadline passes or who goes away stops waiting.
//
// Turns are handed out in order of arrival, a question's own work (its
// query encoding, the LLM reading its question) before documents' work:
// a question about a cached document waits for at most one step of a long
// encode, not for every encode queued before it, and concurrent encodes
// take their steps in turn.
class ModelGate {
 public:
  enum class Work {
    kQuery,     // A question's own step: small, and someone waits on it.
    kDocument,  // A step of encoding or reading documents.
  };

  // Held while it lives; moves, never copies.
  class Turn {
   public:
    Turn(Turn&& other) : gate_(std::exchange(other.gate_, nullptr)) {}
    Turn& operator=(Turn&&) = delete;
    ~Turn();

   private:
    friend class ModelGate;
    explicit Turn(ModelGate* gate) : gate_(gate) {}
    ModelGate* gate_;
  };

  // Waits for this caller's turn (CANCELLED / DEADLINE_EXCEEDED naming
  // `stage` when `stop` fires first).
  absl::StatusOr<Turn> Take(const StopSignal& stop, absl::string_view stage,
                            Work work = Work::kDocument);

  // Callers waiting for a turn now.
  size_t waiting() const;

 private:
  bool IsNext(Work work, uint64_t ticket) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 0;
  // Waiting tickets in arrival order, by kind of work.
  std::deque<uint64_t> waiting_[2] ABSL_GUARDED_BY(mu_);
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_MODEL_GATE_H_

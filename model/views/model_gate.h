#ifndef ATTNR_MODEL_VIEWS_MODEL_GATE_H_
#define ATTNR_MODEL_VIEWS_MODEL_GATE_H_

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
class ModelGate {
 public:
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

  // Waits until the model is free (CANCELLED / DEADLINE_EXCEEDED naming
  // `stage` when `stop` fires first).
  absl::StatusOr<Turn> Take(const StopSignal& stop, absl::string_view stage);

 private:
  absl::Mutex mu_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_MODEL_GATE_H_

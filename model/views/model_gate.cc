#include "model/views/model_gate.h"

#include "absl/time/time.h"

namespace attnr::views {

ModelGate::Turn::~Turn() {
  if (gate_ == nullptr) return;
  absl::MutexLock lock(&gate_->mu_);
  gate_->busy_ = false;
}

absl::StatusOr<ModelGate::Turn> ModelGate::Take(const StopSignal& stop,
                                                absl::string_view stage) {
  absl::MutexLock lock(&mu_);
  auto free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !busy_; };
  while (
      !mu_.AwaitWithTimeout(absl::Condition(&free), absl::Milliseconds(10))) {
    if (absl::Status s = stop.Check(stage); !s.ok()) return s;
  }
  if (absl::Status s = stop.Check(stage); !s.ok()) return s;
  busy_ = true;
  return Turn(this);
}

}  // namespace attnr::views

#include "model/views/model_gate.h"

#include <algorithm>

#include "absl/time/time.h"

namespace attnr::views {

ModelGate::Turn::~Turn() {
  if (gate_ == nullptr) return;
  absl::MutexLock lock(&gate_->mu_);
  gate_->busy_ = false;
}

bool ModelGate::IsNext(Work work, uint64_t ticket) const {
  if (busy_) return false;
  const std::deque<uint64_t>& queries = waiting_[0];
  if (work == Work::kQuery) return queries.front() == ticket;
  return queries.empty() && waiting_[1].front() == ticket;
}

absl::StatusOr<ModelGate::Turn> ModelGate::Take(const StopSignal& stop,
                                                absl::string_view stage,
                                                Work work) {
  absl::MutexLock lock(&mu_);
  std::deque<uint64_t>& line = waiting_[work == Work::kQuery ? 0 : 1];
  const uint64_t ticket = next_ticket_++;
  line.push_back(ticket);
  auto next = [this, work, ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return IsNext(work, ticket);
  };
  absl::Status stopped;
  while (
      !mu_.AwaitWithTimeout(absl::Condition(&next), absl::Milliseconds(10))) {
    if (stopped = stop.Check(stage); !stopped.ok()) break;
  }
  if (stopped.ok()) stopped = stop.Check(stage);
  if (!stopped.ok()) {
    line.erase(std::find(line.begin(), line.end(), ticket));
    return stopped;
  }
  line.pop_front();  // Ours: IsNext held.
  busy_ = true;
  return Turn(this);
}

size_t ModelGate::waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_[0].size() + waiting_[1].size();
}

}  // namespace attnr::views

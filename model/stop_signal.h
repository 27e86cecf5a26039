#ifndef ATTNR_MODEL_STOP_SIGNAL_H_
#define ATTNR_MODEL_STOP_SIGNAL_H_

#include <atomic>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace attnr {

// Tells long work when to give up: the caller's deadline, a flag the
// transport raises when the caller has gone away, and one the server raises
// when it is shutting down (drain past its deadline). Work checks it between blocks (text stages, encoder layers and
// chunks, read-out groups), so a call nobody waits for stops within one
// block instead of running to completion. Cheap to copy; the flag must
// outlive every copy. Safe to check from any thread.
class StopSignal {
 public:
  // Never stops.
  StopSignal() = default;
  explicit StopSignal(absl::Time deadline,
                      const std::atomic<bool>* cancelled = nullptr,
                      const std::atomic<bool>* shutting_down = nullptr)
      : deadline_(deadline),
        cancelled_(cancelled),
        shutting_down_(shutting_down) {}

  absl::Time deadline() const { return deadline_; }

  bool cancelled() const {
    return (cancelled_ != nullptr &&
            cancelled_->load(std::memory_order_relaxed)) ||
           shutting_down();
  }
  bool shutting_down() const {
    return shutting_down_ != nullptr &&
           shutting_down_->load(std::memory_order_relaxed);
  }
  bool expired() const {
    return deadline_ != absl::InfiniteFuture() && absl::Now() > deadline_;
  }
  bool stopped() const { return cancelled() || expired(); }

  // OK, or CANCELLED / DEADLINE_EXCEEDED naming the stage that stopped, or
  // UNAVAILABLE when the server stopped it (shutting down: a client may
  // retry elsewhere, which it cannot tell from CANCELLED).
  absl::Status Check(absl::string_view stage) const {
    if (shutting_down()) {
      return absl::UnavailableError(absl::StrCat(
          "the server is shutting down: the call was stopped during the ",
          stage, " stage; retry on another replica"));
    }
    if (cancelled()) {
      return absl::CancelledError(
          absl::StrCat("call cancelled during the ", stage, " stage"));
    }
    if (expired()) {
      return absl::DeadlineExceededError(
          absl::StrCat("deadline exceeded during the ", stage, " stage"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Time deadline_ = absl::InfiniteFuture();
  const std::atomic<bool>* cancelled_ = nullptr;
  const std::atomic<bool>* shutting_down_ = nullptr;
};

}  // namespace attnr

#endif  // ATTNR_MODEL_STOP_SIGNAL_H_

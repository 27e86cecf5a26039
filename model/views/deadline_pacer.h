#ifndef ATTNR_MODEL_VIEWS_DEADLINE_PACER_H_
#define ATTNR_MODEL_VIEWS_DEADLINE_PACER_H_

#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace attnr::views {

// Paces a neural view's model steps (its batches) by the call's deadline.
// A call's budget is sized from earlier calls' speed; when this one runs
// slower (a busy machine), a step that would likely end past the deadline is
// not started and the call answers from what it judged instead of failing
// with nothing. "Likely" is at this call's own speed, twice over: the slower
// of its mean since the first step and its last step, so a machine that gets
// busy mid-call is seen at the next step, not diluted by the fast ones.
class DeadlinePacer {
 public:
  DeadlinePacer(absl::Time deadline, absl::Time start = absl::Now());

  // Whether a step of `tokens` may start at `now`. Without a deadline, and
  // before any step was measured, it may.
  bool Fits(uint64_t tokens, absl::Time now = absl::Now()) const;

  // A step of `tokens` (> 0) ended at `now`.
  void Done(uint64_t tokens, absl::Time now = absl::Now());

 private:
  const absl::Time deadline_;
  const absl::Time start_;
  absl::Time last_end_;
  uint64_t tokens_ = 0;
  absl::Duration last_per_token_ = absl::ZeroDuration();
};

}  // namespace attnr::views

#endif  // ATTNR_MODEL_VIEWS_DEADLINE_PACER_H_

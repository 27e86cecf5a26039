#include "model/views/deadline_pacer.h"

#include <algorithm>

namespace attnr::views {

DeadlinePacer::DeadlinePacer(absl::Time deadline, absl::Time start)
    : deadline_(deadline), start_(start), last_end_(start) {}

bool DeadlinePacer::Fits(uint64_t tokens, absl::Time now) const {
  if (deadline_ == absl::InfiniteFuture() || tokens_ == 0) return true;
  const absl::Duration per_token =
      std::max((now - start_) / tokens_, last_per_token_);
  return now + 2 * per_token * tokens <= deadline_;
}

void DeadlinePacer::Done(uint64_t tokens, absl::Time now) {
  if (tokens == 0) return;
  // The time since the previous step ended counts too: waiting for the
  // model's turn is part of what the next step will cost.
  last_per_token_ = (now - last_end_) / tokens;
  last_end_ = now;
  tokens_ += tokens;
}

}  // namespace attnr::views

#include "model/views/deadline_pacer.h"

#include "gtest/gtest.h"

namespace attnr::views {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

absl::Time At(int ms) { return kStart + absl::Milliseconds(ms); }

TEST(DeadlinePacerTest, WithoutADeadlineEveryStepFits) {
  DeadlinePacer pacer(absl::InfiniteFuture(), kStart);
  pacer.Done(10, At(1000000));
  EXPECT_TRUE(pacer.Fits(1000000, At(1000000)));
}

TEST(DeadlinePacerTest, TheFirstStepAlwaysStarts) {
  // Nothing measured yet: no speed to judge by, even at the deadline.
  DeadlinePacer pacer(At(100), kStart);
  EXPECT_TRUE(pacer.Fits(1000000, At(100)));
  pacer.Done(0, At(50));  // A step that encoded nothing measures nothing.
  EXPECT_TRUE(pacer.Fits(1000000, At(100)));
}

TEST(DeadlinePacerTest, AStepMustFitTwiceOverAtTheMeanSpeed) {
  DeadlinePacer pacer(At(1000), kStart);
  pacer.Done(100, At(100));  // 1 ms a token.
  pacer.Done(100, At(200));
  // At 200 ms: 400 tokens take 2 x 400 ms = 800 ms, ending at the deadline.
  EXPECT_TRUE(pacer.Fits(400, At(200)));
  EXPECT_FALSE(pacer.Fits(401, At(200)));
  // Time passed since the last step (waiting for the model) slows the mean.
  EXPECT_FALSE(pacer.Fits(400, At(300)));
}

TEST(DeadlinePacerTest, ASlowLastStepIsSeenAtOnce) {
  DeadlinePacer pacer(At(10000), kStart);
  for (int i = 1; i <= 9; ++i) pacer.Done(100, At(100 * i));  // 1 ms a token.
  // The machine gets busy: the last step took 10 ms a token. Its mean
  // (1.9 ms a token) would let 2,000 tokens start; the last step does not.
  pacer.Done(100, At(1900));
  EXPECT_FALSE(pacer.Fits(2000, At(1900)));
  EXPECT_TRUE(pacer.Fits(400, At(1900)));  // 2 x 10 ms x 400 = 8 s: fits.
  EXPECT_FALSE(pacer.Fits(500, At(1900)));
}

}  // namespace
}  // namespace attnr::views

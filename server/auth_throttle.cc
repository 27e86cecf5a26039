#include "server/auth_throttle.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "server/status_mapping.h"

namespace attnr::server {
namespace {

// Buckets kept before full ones (nothing to remember) are dropped: an
// attacker spraying addresses cannot grow the map without bound.
constexpr size_t kMaxBuckets = 100000;

}  // namespace

AuthThrottle::AuthThrottle(int burst) : burst_(std::max(1, burst)) {}

std::string AuthThrottle::AddressOf(absl::string_view peer) {
  absl::ConsumePrefix(&peer, "ipv4:");
  absl::ConsumePrefix(&peer, "ipv6:");
  if (absl::ConsumePrefix(&peer, "[")) {
    return std::string(peer.substr(0, peer.find(']')));
  }
  const size_t colon = peer.rfind(':');
  return std::string(colon == absl::string_view::npos ? peer
                                                      : peer.substr(0, colon));
}

AuthThrottle::Bucket& AuthThrottle::Refill(const std::string& address,
                                           absl::Time now) {
  auto [it, added] = buckets_.try_emplace(address);
  Bucket& b = it->second;
  if (added) {
    b.failures_left = burst_;
  } else {
    // One failure back a second.
    b.failures_left =
        std::min(burst_, b.failures_left +
                             absl::ToDoubleSeconds(now - b.updated));
  }
  b.updated = now;
  return b;
}

absl::Status AuthThrottle::Admit(absl::string_view peer, absl::Time now) {
  const std::string address = AddressOf(peer);
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(address);
  if (it == buckets_.end()) return absl::OkStatus();
  const Bucket& b = Refill(address, now);
  if (b.failures_left >= 1) return absl::OkStatus();
  const int64_t wait = static_cast<int64_t>(std::ceil(1 - b.failures_left));
  return OverloadedError(
      absl::StrCat("authorization: too many failed attempts from this "
                   "address; retry after ",
                   std::max<int64_t>(wait, 1), " s"),
      absl::Seconds(std::max<int64_t>(wait, 1)));
}

void AuthThrottle::Failed(absl::string_view peer, absl::Time now) {
  const std::string address = AddressOf(peer);
  absl::MutexLock lock(&mu_);
  if (buckets_.size() >= kMaxBuckets) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      const double left = it->second.failures_left +
                          absl::ToDoubleSeconds(now - it->second.updated);
      if (left >= burst_) {
        buckets_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  Bucket& b = Refill(address, now);
  b.failures_left = std::max(0.0, b.failures_left - 1);
}

}  // namespace attnr::server

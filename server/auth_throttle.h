#ifndef ATTNR_SERVER_AUTH_THROTTLE_H_
#define ATTNR_SERVER_AUTH_THROTTLE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace attnr::server {

// Slows token guessing: each address (the peer's IP, either transport) has
// a bucket of `burst` failed authentications that refills one a second.
// While it is empty every call from that address is refused at once with
// RESOURCE_EXHAUSTED and a Retry-After (HTTP 429), before any token is
// compared, so a guesser learns nothing from the answer and gets about one
// guess a second instead of thousands. Thread-safe.
class AuthThrottle {
 public:
  explicit AuthThrottle(int burst);

  // OK, or the overload error for an address whose bucket is empty.
  absl::Status Admit(absl::string_view peer, absl::Time now = absl::Now());
  // A failed authentication from `peer`.
  void Failed(absl::string_view peer, absl::Time now = absl::Now());

  // The address of a peer: "ipv4:1.2.3.4:5" (gRPC), "1.2.3.4:5" (HTTP),
  // "ipv6:[::1]:5", "[::1]:5" -> "1.2.3.4", "::1".
  static std::string AddressOf(absl::string_view peer);

 private:
  struct Bucket {
    double failures_left = 0;
    absl::Time updated;
  };
  // The bucket refilled up to `now`.
  Bucket& Refill(const std::string& address, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double burst_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace attnr::server

#endif  // ATTNR_SERVER_AUTH_THROTTLE_H_

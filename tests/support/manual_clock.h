#pragma once

#include <atomic>

#include "core/clock.h"

namespace devauth::testing {

// A clock that moves only when a test advances it. Safe to read from server threads.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = fromUnixMillis(1'800'000'000'000))
      : now_ms_(toUnixMillis(start)) {}

  TimePoint now() const override { return fromUnixMillis(now_ms_.load()); }
  void advance(milliseconds delta) { now_ms_ += delta.count(); }
  void set(TimePoint t) { now_ms_ = toUnixMillis(t); }

 private:
  std::atomic<long long> now_ms_;
};

}  // namespace devauth::testing

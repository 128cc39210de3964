#pragma once

#include <chrono>

namespace devauth {

// Wall-clock time with millisecond precision; stored as milliseconds since the Unix epoch.
using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The source of the current time. Injected everywhere so that tests of expiry and polling
// intervals can move time exactly. Implementations are safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
  }
};

inline long long toUnixMillis(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint fromUnixMillis(long long ms) { return TimePoint(milliseconds(ms)); }

}  // namespace devauth

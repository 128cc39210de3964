#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

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

// Writes the Unix time of `t` in milliseconds as 6 big-endian bytes, so that byte strings that
// start with it sort in time order (until the year 10889).
inline void putUnixMillis48(std::span<std::uint8_t, 6> out, TimePoint t) {
  auto millis = static_cast<std::uint64_t>(toUnixMillis(t));
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = static_cast<std::uint8_t>(millis & 0xffU);
    millis >>= 8U;
  }
}

}  // namespace devauth

#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "core/random.h"

namespace devauth::testing {

// Replays a fixed byte sequence, then continues with a seeded splitmix64 stream, so runs are
// repeatable and later draws still differ. Lets tests pin user codes and force collisions.
class FixedRandom final : public RandomSource {
 public:
  explicit FixedRandom(std::vector<std::uint8_t> script = {}) : script_(std::move(script)) {}

  void fill(std::span<std::uint8_t> out) override {
    std::lock_guard lock(mutex_);
    ++fills_;
    for (auto& byte : out) {
      if (position_ < script_.size()) {
        byte = script_[position_++];
      } else {
        state_ += 0x9e3779b97f4a7c15ULL;
        std::uint64_t z = state_;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        byte = static_cast<std::uint8_t>(z ^ (z >> 31));
      }
    }
  }

  // The number of fill() calls so far.
  std::size_t fills() {
    std::lock_guard lock(mutex_);
    return fills_;
  }

 private:
  std::mutex mutex_;
  std::size_t fills_ = 0;
  std::vector<std::uint8_t> script_;
  std::size_t position_ = 0;
  std::uint64_t state_ = 42;
};

}  // namespace devauth::testing

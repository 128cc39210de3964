#pragma once

#include <cstdint>
#include <span>

namespace devauth {

// The source of random bytes for codes, tokens and secrets. Production code uses the CSPRNG
// (libsodium's randombytes_buf, which reads the kernel's getrandom). Tests may inject a
// deterministic source. Implementations are safe to call from any thread.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

class CsprngRandom final : public RandomSource {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

}  // namespace devauth

#include "core/device_code.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

namespace devauth {
namespace {

constexpr std::size_t kDeviceCodeBytes = kDeviceCodeOrderBytes + kSecretBytes;
constexpr std::size_t kTimeBytes = 6;
// The shortest prefix of a code that decodes to whole bytes and contains the order bytes: 12
// characters, 72 bits.
constexpr std::size_t kOrderPrefixCharacters = 12;
constexpr std::size_t kOrderPrefixBytes = 9;

}  // namespace

std::string generateDeviceCode(RandomSource& random, TimePoint now) {
  std::array<std::uint8_t, kDeviceCodeBytes> bytes{};
  putUnixMillis48(std::span(bytes).first<kTimeBytes>(), now);
  random.fill(std::span(bytes).subspan(kTimeBytes));
  std::string code =
      base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  sodium_memzero(bytes.data(), bytes.size());
  return code;
}

SecretHash deviceCodeKey(std::string_view device_code) {
  SecretHash key = hashSecret(device_code);
  if (device_code.size() != kDeviceCodeLength) {
    return key;
  }
  // The first 12 characters are 9 whole bytes, of which the first 8 are the order bytes. The
  // rest of the code is not decoded: the digest covers it, so another string gets another key.
  std::array<std::uint8_t, kOrderPrefixBytes> bytes{};
  std::size_t decoded = 0;
  if (sodium_base642bin(bytes.data(), bytes.size(), device_code.data(), kOrderPrefixCharacters,
                        nullptr, &decoded, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      decoded != bytes.size()) {
    return key;
  }
  std::copy_backward(key.begin(), key.end() - kDeviceCodeOrderBytes, key.end());
  std::copy_n(bytes.begin(), kDeviceCodeOrderBytes, key.begin());
  return key;
}

}  // namespace devauth

#pragma once

// Device codes (RFC 8628 §3.2) and the key under which the store finds them.
//
// A device code is 40 bytes in unpadded base64url (54 characters): 8 order bytes, then
// kSecretBytes random bytes. The order bytes are the time of issue in milliseconds (6 bytes,
// big-endian) and 2 random bytes. They are not secret, and the random bytes alone carry the
// 256 bits of entropy (RFC 6749 §10.10, RFC 8628 §5.2).
//
// The key is the order bytes followed by the first 24 bytes of the code's SHA-256. Keys of new
// codes grow with time, so a new authorization adds its key at the end of the store's
// device-code index instead of on a random page of it.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/random.h"
#include "core/secret.h"

namespace devauth {

inline constexpr std::size_t kDeviceCodeOrderBytes = 8;
// How many bytes generateDeviceCode draws from its RandomSource.
inline constexpr std::size_t kDeviceCodeRandomBytes = 2 + kSecretBytes;
// The length of a device code made by generateDeviceCode.
inline constexpr std::size_t kDeviceCodeLength = 54;

// Returns a new device code issued at `now`.
std::string generateDeviceCode(RandomSource& random, TimePoint now);

// Returns the store key of `device_code`. A string of another length (a device code of an
// earlier version, for example) or one whose first 12 characters are not base64url gets its
// whole SHA-256 as the key.
SecretHash deviceCodeKey(std::string_view device_code);

}  // namespace devauth

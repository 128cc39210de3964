#pragma once

// Secrets: generation, hashing and comparison. Device codes, access tokens, client secrets and
// browser session ids are high-entropy random strings, so an unsalted SHA-256 is enough to store
// them safely; passwords are low-entropy and use argon2id instead.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/random.h"

namespace devauth {

// A SHA-256 digest of a secret, the only form in which the store keeps it.
using SecretHash = std::array<std::uint8_t, 32>;

// Number of random bytes in a device code, access token or client secret: 256 bits, above the
// 128 bits that RFC 6749 §10.10 requires and the 160 bits RFC 8628 §5.2 recommends.
inline constexpr std::size_t kSecretBytes = 32;

// Returns kSecretBytes from `random`, encoded as unpadded base64url (43 characters).
std::string generateSecret(RandomSource& random);

SecretHash hashSecret(std::string_view secret);

// Compares two digests in time independent of where they differ.
bool constantTimeEquals(const SecretHash& a, const SecretHash& b);

std::string toHex(const SecretHash& hash);
std::optional<SecretHash> fromHex(std::string_view hex);

std::string base64UrlEncode(std::string_view bytes);

// Hashes a password with argon2id (libsodium's interactive limits). Returns an empty string
// when libsodium runs out of memory.
std::string hashPassword(std::string_view password);

// Checks a password against an argon2id hash in constant time.
bool verifyPassword(std::string_view password, const std::string& password_hash);

// A public key to which a token handed in at approval is sealed, derived from the device code.
// Only the holder of the device code can derive the matching private key, so a relayed token
// is never stored in clear and only the device can open it.
using RelayPublicKey = std::array<std::uint8_t, 32>;

RelayPublicKey relayPublicKeyFor(std::string_view device_code);

// Seals `token` to `key` (libsodium crypto_box_seal).
std::string sealRelayToken(const RelayPublicKey& key, std::string_view token);

// Opens a sealed token with the key pair derived from `device_code`; nullopt if it fails.
std::optional<std::string> openRelayToken(std::string_view device_code, std::string_view sealed);

}  // namespace devauth

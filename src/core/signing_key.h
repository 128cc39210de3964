#pragma once

// A key that signs JWT access tokens and ID tokens, as the store keeps it.

#include <string>

#include "core/clock.h"

namespace devauth {

struct SigningKeyRecord {
  // The RFC 7638 thumbprint of the public key, published as the JWK's kid.
  std::string kid;
  // The JWA name: "ES256" or "EdDSA".
  std::string algorithm;
  // The public key as a JWK JSON object without kid, alg and use.
  std::string public_jwk;
  // The PKCS#8 private key, encrypted with the key-encryption key (keys/key_encryption.h).
  std::string encrypted_private_key;
  // When the key was created. The newest key signs; an older one is retired from the moment
  // the next one was created.
  TimePoint created_at{};
};

}  // namespace devauth

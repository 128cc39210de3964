#pragma once

// JSON Web Signatures (RFC 7515) in the compact serialization, signed with ES256 (ECDSA on
// P-256 with SHA-256, RFC 7518 §3.4) or EdDSA on Ed25519 (RFC 8037 §3.1) through OpenSSL 3's
// EVP API, and the public halves of the keys as JSON Web Keys (RFC 7517).
//
// Thread safety: a Key is immutable after construction and may be used from any thread.

#include <openssl/types.h>

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/expected.h"

namespace devauth::jose {

enum class SigningAlgorithm { Es256, EdDsa };

// The JWA name: "ES256" or "EdDSA" (RFC 7518 §3.1, RFC 8037 §3.1).
std::string_view toString(SigningAlgorithm algorithm);
// Parses a JWA name, case-sensitively as RFC 7515 §4.1.1 requires.
std::optional<SigningAlgorithm> parseSigningAlgorithm(std::string_view name);

// A key pair, or a public key alone, for one signing algorithm.
class Key {
 public:
  // Draws a new key pair from OpenSSL's CSPRNG.
  static Expected<Key, std::string> generate(SigningAlgorithm algorithm);
  // Reads a PKCS#8 private key in PEM form; fails unless it is a key for `algorithm`.
  static Expected<Key, std::string> fromPrivatePem(std::string_view pem,
                                                   SigningAlgorithm algorithm);
  // Reads the public key of an EC P-256 or OKP Ed25519 JWK (RFC 7518 §6.2, RFC 8037 §2).
  static Expected<Key, std::string> fromPublicJwk(const boost::json::object& jwk);

  SigningAlgorithm algorithm() const { return algorithm_; }
  bool hasPrivateKey() const { return has_private_; }

  // The private key as PKCS#8 PEM; empty for a public key alone.
  std::string privatePem() const;
  // The public key as a JWK with only the required members: kty, crv, x and, for EC, y.
  boost::json::object publicJwk() const;
  // The RFC 7638 JWK thumbprint with SHA-256, base64url-encoded: a stable key id.
  std::string thumbprint() const;

  EVP_PKEY* handle() const { return key_.get(); }

 private:
  Key(std::shared_ptr<EVP_PKEY> key, SigningAlgorithm algorithm, bool has_private)
      : key_(std::move(key)), algorithm_(algorithm), has_private_(has_private) {}

  std::shared_ptr<EVP_PKEY> key_;
  SigningAlgorithm algorithm_;
  bool has_private_;
};

// Signs `claims` with `key`. The protected header is {"alg", "typ", "kid"} with alg from the
// key. Fails when the key has no private half or OpenSSL fails.
Expected<std::string, std::string> sign(const Key& key, std::string_view kid, std::string_view typ,
                                        const boost::json::object& claims);

struct VerifiedJws {
  boost::json::object header;
  boost::json::object claims;
};

// Decodes the protected header of a compact JWS without verifying it, for example to read its
// kid before choosing a key.
Expected<boost::json::object, std::string> decodeHeader(std::string_view compact);

// Verifies a compact JWS with `key`. Fails when the serialization is malformed, the header's
// alg is not the key's algorithm (so "none" and algorithm substitution are rejected), or the
// signature does not verify. The payload must be a JSON object.
Expected<VerifiedJws, std::string> verify(std::string_view compact, const Key& key);

// base64url without padding (RFC 7515 §2); nullopt when `text` is not valid.
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace devauth::jose

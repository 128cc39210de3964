#include "core/secret.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "core/blocking.h"

namespace devauth {
namespace {

// libsodium must be initialised once before use; sodium_init is safe to call repeatedly and
// from several threads.
void ensureSodium() {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
}

struct RelayKeyPair {
  std::array<std::uint8_t, crypto_box_PUBLICKEYBYTES> public_key;
  std::array<std::uint8_t, crypto_box_SECRETKEYBYTES> secret_key;
};

// The seed is a domain-separated hash of the device code, so the key pair differs from the
// stored device-code hash and cannot be derived from it.
RelayKeyPair deriveRelayKeyPair(std::string_view device_code) {
  ensureSodium();
  static constexpr std::string_view kDomain = "devauth relay key v1";
  std::array<std::uint8_t, crypto_box_SEEDBYTES> seed{};
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, seed.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kDomain.data()),
                            kDomain.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(device_code.data()),
                            device_code.size());
  crypto_generichash_final(&state, seed.data(), seed.size());

  RelayKeyPair pair{};
  crypto_box_seed_keypair(pair.public_key.data(), pair.secret_key.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  return pair;
}

}  // namespace

void CsprngRandom::fill(std::span<std::uint8_t> out) {
  ensureSodium();
  randombytes_buf(out.data(), out.size());
}

std::string generateSecret(RandomSource& random) {
  std::array<std::uint8_t, kSecretBytes> bytes{};
  random.fill(bytes);
  std::string encoded =
      base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  sodium_memzero(bytes.data(), bytes.size());
  return encoded;
}

SecretHash hashSecret(std::string_view secret) {
  // OpenSSL's SHA-256 uses the CPU's SHA instructions where it has them, and libsodium's is
  // portable C (BM_HashSecret: 115 against 256 ns). The algorithm is fetched once, because
  // EVP_sha256() makes OpenSSL 3 fetch it at every digest. Each thread reuses one context.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  SecretHash hash{};
  unsigned int size = 0;
  if (sha256 == nullptr || !context || EVP_DigestInit_ex2(context.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(context.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestFinal_ex(context.get(), hash.data(), &size) != 1 || size != hash.size()) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return hash;
}

bool constantTimeEquals(const SecretHash& a, const SecretHash& b) {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string toHex(const SecretHash& hash) {
  std::string hex(hash.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
  hex.pop_back();
  return hex;
}

std::optional<SecretHash> fromHex(std::string_view hex) {
  SecretHash hash{};
  std::size_t length = 0;
  if (hex.size() != hash.size() * 2 ||
      sodium_hex2bin(hash.data(), hash.size(), hex.data(), hex.size(), nullptr, &length, nullptr) !=
          0 ||
      length != hash.size()) {
    return std::nullopt;
  }
  return hash;
}

std::string base64UrlEncode(std::string_view bytes) {
  ensureSodium();
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), kVariant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string hashPassword(std::string_view password) {
  ensureSodium();
  char out[crypto_pwhash_STRBYTES];
  // argon2id takes tens of milliseconds of CPU, so the handler pool runs another thread
  // meanwhile rather than let it hold up short requests.
  const BlockingRegion hashing;
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return {};
  }
  return out;
}

bool verifyPassword(std::string_view password, const std::string& password_hash) {
  ensureSodium();
  if (password_hash.empty()) {
    return false;
  }
  const BlockingRegion hashing;
  return crypto_pwhash_str_verify(password_hash.c_str(), password.data(), password.size()) == 0;
}

RelayPublicKey relayPublicKeyFor(std::string_view device_code) {
  RelayKeyPair pair = deriveRelayKeyPair(device_code);
  sodium_memzero(pair.secret_key.data(), pair.secret_key.size());
  return pair.public_key;
}

std::string sealRelayToken(const RelayPublicKey& key, std::string_view token) {
  ensureSodium();
  std::string sealed(token.size() + crypto_box_SEALBYTES, '\0');
  crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data()),
                  reinterpret_cast<const unsigned char*>(token.data()), token.size(), key.data());
  return sealed;
}

std::optional<std::string> openRelayToken(std::string_view device_code, std::string_view sealed) {
  if (sealed.size() < crypto_box_SEALBYTES) {
    return std::nullopt;
  }
  RelayKeyPair pair = deriveRelayKeyPair(device_code);
  std::string token(sealed.size() - crypto_box_SEALBYTES, '\0');
  const int rc =
      crypto_box_seal_open(reinterpret_cast<unsigned char*>(token.data()),
                           reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
                           pair.public_key.data(), pair.secret_key.data());
  sodium_memzero(pair.secret_key.data(), pair.secret_key.size());
  if (rc != 0) {
    return std::nullopt;
  }
  return token;
}

}  // namespace devauth

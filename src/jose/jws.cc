#include "jose/jws.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <vector>

#include "core/secret.h"

namespace devauth::jose {
namespace {

// P-256 coordinates and ES256 signature halves are 32 bytes (RFC 7518 §3.4, §6.2.1.2).
constexpr std::size_t kP256CoordinateBytes = 32;
constexpr std::size_t kEd25519KeyBytes = 32;
constexpr std::size_t kSignatureBytes = 64;

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using BignumPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)>;

// Returns `what` followed by OpenSSL's most recent error message, and clears the error queue.
std::string opensslError(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return std::string(what);
  }
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return std::string(what) + ": " + text.data();
}

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, &EVP_PKEY_free);
}

std::optional<SigningAlgorithm> algorithmOfKey(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519") == 1) {
    return SigningAlgorithm::EdDsa;
  }
  if (EVP_PKEY_is_a(key, "EC") != 1) {
    return std::nullopt;
  }
  std::array<char, 64> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                     &length) != 1 ||
      std::string_view(group.data(), length) != "prime256v1") {
    return std::nullopt;
  }
  return SigningAlgorithm::Es256;
}

std::string bytesOf(const std::vector<unsigned char>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// An EC coordinate as a fixed-length big-endian string (RFC 7518 §6.2.1.2).
std::string coordinate(const EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return {};
  }
  BignumPtr value(raw, &BN_free);
  std::vector<unsigned char> out(kP256CoordinateBytes);
  if (BN_bn2binpad(value.get(), out.data(), static_cast<int>(out.size())) < 0) {
    return {};
  }
  return bytesOf(out);
}

std::string stringField(const boost::json::object& object, std::string_view name) {
  const auto* value = object.if_contains(name);
  if (value == nullptr || !value->is_string()) {
    return {};
  }
  return std::string(value->get_string());
}

// OpenSSL's ECDSA signatures are DER, but JWS uses the fixed-length r || s form (RFC 7518 §3.4).
Expected<std::string, std::string> derToRawSignature(const std::vector<unsigned char>& der) {
  const unsigned char* cursor = der.data();
  EcdsaSigPtr signature(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())),
                        &ECDSA_SIG_free);
  if (!signature) {
    return unexpected(opensslError("reading the ECDSA signature failed"));
  }
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(signature.get(), &r, &s);
  std::vector<unsigned char> raw(kSignatureBytes);
  if (BN_bn2binpad(r, raw.data(), kP256CoordinateBytes) < 0 ||
      BN_bn2binpad(s, raw.data() + kP256CoordinateBytes, kP256CoordinateBytes) < 0) {
    return unexpected(std::string("an ECDSA signature half is longer than 32 bytes"));
  }
  return bytesOf(raw);
}

std::optional<std::vector<unsigned char>> rawToDerSignature(std::string_view raw) {
  if (raw.size() != kSignatureBytes) {
    return std::nullopt;
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BignumPtr r(BN_bin2bn(bytes, kP256CoordinateBytes, nullptr), &BN_free);
  BignumPtr s(BN_bin2bn(bytes + kP256CoordinateBytes, kP256CoordinateBytes, nullptr), &BN_free);
  EcdsaSigPtr signature(ECDSA_SIG_new(), &ECDSA_SIG_free);
  if (!r || !s || !signature || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) {
    return std::nullopt;
  }
  // ECDSA_SIG_set0 took ownership of r and s.
  static_cast<void>(r.release());
  static_cast<void>(s.release());
  const int length = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (length <= 0) {
    return std::nullopt;
  }
  std::vector<unsigned char> der(static_cast<std::size_t>(length));
  unsigned char* cursor = der.data();
  i2d_ECDSA_SIG(signature.get(), &cursor);
  return der;
}

const EVP_MD* digestFor(SigningAlgorithm algorithm) {
  // Ed25519 hashes internally and takes no digest (RFC 8032 §5.1.6).
  return algorithm == SigningAlgorithm::Es256 ? EVP_sha256() : nullptr;
}

Expected<std::string, std::string> signBytes(const Key& key, std::string_view input) {
  MdCtxPtr context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!context || EVP_DigestSignInit(context.get(), nullptr, digestFor(key.algorithm()), nullptr,
                                     key.handle()) != 1) {
    return unexpected(opensslError("starting the signature failed"));
  }
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t length = 0;
  if (EVP_DigestSign(context.get(), nullptr, &length, data, input.size()) != 1) {
    return unexpected(opensslError("sizing the signature failed"));
  }
  std::vector<unsigned char> signature(length);
  if (EVP_DigestSign(context.get(), signature.data(), &length, data, input.size()) != 1) {
    return unexpected(opensslError("signing failed"));
  }
  signature.resize(length);
  if (key.algorithm() == SigningAlgorithm::Es256) {
    return derToRawSignature(signature);
  }
  return bytesOf(signature);
}

bool verifyBytes(const Key& key, std::string_view input, std::string_view signature) {
  std::vector<unsigned char> encoded;
  if (key.algorithm() == SigningAlgorithm::Es256) {
    auto der = rawToDerSignature(signature);
    if (!der) {
      return false;
    }
    encoded = std::move(*der);
  } else {
    if (signature.size() != kSignatureBytes) {
      return false;
    }
    encoded.assign(signature.begin(), signature.end());
  }
  MdCtxPtr context(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, digestFor(key.algorithm()), nullptr,
                                       key.handle()) != 1) {
    ERR_clear_error();
    return false;
  }
  const int verified =
      EVP_DigestVerify(context.get(), encoded.data(), encoded.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
  ERR_clear_error();
  return verified == 1;
}

Expected<boost::json::object, std::string> decodeJsonObject(std::string_view encoded,
                                                            std::string_view part) {
  const auto decoded = base64UrlDecode(encoded);
  if (!decoded) {
    return unexpected(std::string(part) + " is not base64url");
  }
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(*decoded, error);
  if (error || !value.is_object()) {
    return unexpected(std::string(part) + " is not a JSON object");
  }
  return std::move(value.as_object());
}

Expected<std::shared_ptr<EVP_PKEY>, std::string> publicEcKey(const std::string& x,
                                                             const std::string& y) {
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return unexpected(std::string("the EC coordinates are not 32 bytes each"));
  }
  // The uncompressed point form: 0x04 || x || y (SEC 1 §2.3.3).
  std::string point = "\x04" + x + y;
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> builder(OSSL_PARAM_BLD_new(),
                                                                          &OSSL_PARAM_BLD_free);
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return unexpected(opensslError("building the EC key parameters failed"));
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(
      OSSL_PARAM_BLD_to_param(builder.get()), &OSSL_PARAM_free);
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> context(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return unexpected(opensslError("the EC public key is not a point on P-256"));
  }
  return share(key);
}

}  // namespace

std::string_view toString(SigningAlgorithm algorithm) {
  return algorithm == SigningAlgorithm::Es256 ? "ES256" : "EdDSA";
}

std::optional<SigningAlgorithm> parseSigningAlgorithm(std::string_view name) {
  if (name == "ES256") {
    return SigningAlgorithm::Es256;
  }
  if (name == "EdDSA") {
    return SigningAlgorithm::EdDsa;
  }
  return std::nullopt;
}

Expected<Key, std::string> Key::generate(SigningAlgorithm algorithm) {
  EVP_PKEY* key = algorithm == SigningAlgorithm::Es256
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) {
    return unexpected(opensslError("generating the key pair failed"));
  }
  return Key(share(key), algorithm, true);
}

Expected<Key, std::string> Key::fromPrivatePem(std::string_view pem, SigningAlgorithm algorithm) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  EVP_PKEY* raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (raw == nullptr) {
    return unexpected(opensslError("reading the private key failed"));
  }
  auto key = share(raw);
  if (algorithmOfKey(key.get()) != algorithm) {
    return unexpected("the private key is not a " + std::string(toString(algorithm)) + " key");
  }
  return Key(std::move(key), algorithm, true);
}

Expected<Key, std::string> Key::fromPublicJwk(const boost::json::object& jwk) {
  const std::string kty = stringField(jwk, "kty");
  const std::string crv = stringField(jwk, "crv");
  const auto x = base64UrlDecode(stringField(jwk, "x"));
  if (!x) {
    return unexpected(std::string("the JWK member x is not base64url"));
  }
  if (kty == "OKP" && crv == "Ed25519") {
    if (x->size() != kEd25519KeyBytes) {
      return unexpected(std::string("an Ed25519 public key is 32 bytes"));
    }
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
    if (key == nullptr) {
      return unexpected(opensslError("reading the Ed25519 public key failed"));
    }
    return Key(share(key), SigningAlgorithm::EdDsa, false);
  }
  if (kty == "EC" && crv == "P-256") {
    const auto y = base64UrlDecode(stringField(jwk, "y"));
    if (!y) {
      return unexpected(std::string("the JWK member y is not base64url"));
    }
    auto key = publicEcKey(*x, *y);
    if (!key) {
      return unexpected(key.error());
    }
    return Key(std::move(*key), SigningAlgorithm::Es256, false);
  }
  return unexpected("unsupported JWK: kty " + kty + ", crv " + crv);
}

std::string Key::privatePem() const {
  if (!has_private_) {
    return {};
  }
  BioPtr bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, static_cast<std::size_t>(length));
  return pem;
}

boost::json::object Key::publicJwk() const {
  if (algorithm_ == SigningAlgorithm::EdDsa) {
    std::vector<unsigned char> raw(kEd25519KeyBytes);
    std::size_t length = raw.size();
    if (EVP_PKEY_get_raw_public_key(key_.get(), raw.data(), &length) != 1) {
      ERR_clear_error();
      return {};
    }
    raw.resize(length);
    return {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", base64UrlEncode(bytesOf(raw))}};
  }
  return {{"kty", "EC"},
          {"crv", "P-256"},
          {"x", base64UrlEncode(coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_X))},
          {"y", base64UrlEncode(coordinate(key_.get(), OSSL_PKEY_PARAM_EC_PUB_Y))}};
}

std::string Key::thumbprint() const {
  // RFC 7638 §3.2: the required members only, in lexicographic order, without whitespace.
  const boost::json::object jwk = publicJwk();
  std::string canonical;
  if (algorithm_ == SigningAlgorithm::EdDsa) {
    canonical = R"({"crv":"Ed25519","kty":"OKP","x":")" + stringField(jwk, "x") + R"("})";
  } else {
    canonical = R"({"crv":"P-256","kty":"EC","x":")" + stringField(jwk, "x") + R"(","y":")" +
                stringField(jwk, "y") + R"("})";
  }
  const SecretHash digest = hashSecret(canonical);
  return base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

Expected<std::string, std::string> sign(const Key& key, std::string_view kid, std::string_view typ,
                                        const boost::json::object& claims) {
  if (!key.hasPrivateKey()) {
    return unexpected(std::string("the key has no private half"));
  }
  boost::json::object header;
  header["alg"] = toString(key.algorithm());
  header["typ"] = typ;
  header["kid"] = kid;
  const std::string signing_input = base64UrlEncode(boost::json::serialize(header)) + "." +
                                    base64UrlEncode(boost::json::serialize(claims));
  auto signature = signBytes(key, signing_input);
  if (!signature) {
    return unexpected(signature.error());
  }
  return signing_input + "." + base64UrlEncode(*signature);
}

Expected<boost::json::object, std::string> decodeHeader(std::string_view compact) {
  const std::size_t dot = compact.find('.');
  if (dot == std::string_view::npos) {
    return unexpected(std::string("a compact JWS has three parts separated by dots"));
  }
  return decodeJsonObject(compact.substr(0, dot), "the header");
}

Expected<VerifiedJws, std::string> verify(std::string_view compact, const Key& key) {
  const std::size_t first = compact.find('.');
  const std::size_t second = first == std::string_view::npos ? first : compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos) {
    return unexpected(std::string("a compact JWS has three parts separated by dots"));
  }
  auto header = decodeJsonObject(compact.substr(0, first), "the header");
  if (!header) {
    return unexpected(header.error());
  }
  if (stringField(*header, "alg") != toString(key.algorithm())) {
    return unexpected("the header's alg is not " + std::string(toString(key.algorithm())));
  }
  const auto signature = base64UrlDecode(compact.substr(second + 1));
  if (!signature || !verifyBytes(key, compact.substr(0, second), *signature)) {
    return unexpected(std::string("the signature does not verify"));
  }
  auto claims = decodeJsonObject(compact.substr(first + 1, second - first - 1), "the payload");
  if (!claims) {
    return unexpected(claims.error());
  }
  return VerifiedJws{std::move(*header), std::move(*claims)};
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  if (sodium_init() < 0) {
    return std::nullopt;
  }
  std::string out(text.size() * 3 / 4 + 1, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

}  // namespace devauth::jose

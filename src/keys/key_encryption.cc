#include "keys/key_encryption.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/secret.h"
#include "jose/jws.h"

namespace devauth {
namespace {

constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

// URL schemes are case-insensitive (RFC 3986 §3.1).
bool isPostgresLocation(std::string_view store) {
  std::string prefix(store.substr(0, 13));
  for (char& c : prefix) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return prefix.starts_with("postgresql://") || prefix.starts_with("postgres://");
}

std::string defaultFile(const std::string& store) {
  const std::string path = store.starts_with("sqlite:") ? store.substr(7) : store;
  return path + ".kek";
}

// Creates `path` with a new random key, readable by its owner only. The key is written to a
// temporary file first and linked into place, so that a process that reads `path` while
// another creates it never sees a partial key. Returns false when the file exists already.
Expected<bool, std::string> createKeyFile(const std::string& path) {
  if (::access(path.c_str(), F_OK) == 0) {
    return false;
  }
  CsprngRandom random;
  const std::string temporary = path + ".tmp-" + generateSecret(random).substr(0, 16);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return unexpected("cannot create the key-encryption key file " + path + ": " +
                      std::strerror(errno));
  }
  const std::string text = generateSecret(random) + "\n";
  const ssize_t written = ::write(fd, text.data(), text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()) || !synced) {
    ::unlink(temporary.c_str());
    return unexpected("cannot write the key-encryption key file " + path);
  }
  // link fails with EEXIST when another process created the file first; its key is used.
  const int linked = ::link(temporary.c_str(), path.c_str());
  const int link_error = errno;
  ::unlink(temporary.c_str());
  if (linked != 0 && link_error != EEXIST) {
    return unexpected("cannot create the key-encryption key file " + path + ": " +
                      std::strerror(link_error));
  }
  return linked == 0;
}

Expected<KeyEncryptionKey, std::string> readKeyFile(const std::string& path) {
  auto created = createKeyFile(path);
  if (!created) {
    return unexpected(created.error());
  }
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    return unexpected("cannot read the key-encryption key file " + path + ": " +
                      std::strerror(errno));
  }
  if ((status.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return unexpected("the key-encryption key file " + path +
                      " is accessible by group or others; run chmod 600 on it");
  }
  std::ifstream file(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto key = KeyEncryptionKey::fromText(text);
  if (!key) {
    return unexpected("the key-encryption key file " + path + " is invalid: " + key.error());
  }
  return key;
}

}  // namespace

Expected<KeyEncryptionKey, std::string> KeyEncryptionKey::load(const std::string& file,
                                                               const std::string& store) {
  // devauth never changes its environment, so getenv cannot race with a writer.
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  const char* variable = std::getenv(kKeyEncryptionKeyVariable);
  if (variable != nullptr && *variable != '\0') {
    auto key = fromText(variable);
    if (!key) {
      return unexpected(std::string(kKeyEncryptionKeyVariable) + " is invalid: " + key.error());
    }
    return key;
  }
  if (!file.empty()) {
    return readKeyFile(file);
  }
  if (isPostgresLocation(store)) {
    return unexpected(
        std::string("a PostgreSQL store needs a key-encryption key shared by every instance: set "
                    "--key-encryption-key-file or ") +
        kKeyEncryptionKeyVariable);
  }
  return readKeyFile(defaultFile(store));
}

Expected<KeyEncryptionKey, std::string> KeyEncryptionKey::fromText(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  auto bytes = jose::base64UrlDecode(text);
  if (!bytes || bytes->size() != kBytes) {
    if (bytes) {
      sodium_memzero(bytes->data(), bytes->size());
    }
    return unexpected(std::string("expected 32 bytes in base64url (43 characters)"));
  }
  KeyEncryptionKey key;
  std::memcpy(key.key_.data(), bytes->data(), kBytes);
  sodium_memzero(bytes->data(), bytes->size());
  return key;
}

KeyEncryptionKey::~KeyEncryptionKey() { sodium_memzero(key_.data(), key_.size()); }

std::string KeyEncryptionKey::seal(std::string_view plaintext, std::string_view associated) const {
  std::string sealed(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  randombytes_buf(out, kNonceBytes);
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out + kNonceBytes, &length, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(associated.data()),
      associated.size(), nullptr, out, key_.data());
  sealed.resize(kNonceBytes + length);
  return sealed;
}

std::optional<std::string> KeyEncryptionKey::open(std::string_view sealed,
                                                  std::string_view associated) const {
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return std::nullopt;
  }
  const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string plaintext(sealed.size() - kNonceBytes - kTagBytes, '\0');
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plaintext.data()), &length, nullptr, in + kNonceBytes,
          sealed.size() - kNonceBytes, reinterpret_cast<const unsigned char*>(associated.data()),
          associated.size(), in, key_.data()) != 0) {
    return std::nullopt;
  }
  plaintext.resize(length);
  return plaintext;
}

}  // namespace devauth

#pragma once

// The key-encryption key (KEK) that encrypts the private signing keys in the store, so that a
// copy of the database alone does not reveal them. It comes from, in this order:
//  1. the environment variable DEVAUTH_KEY_ENCRYPTION_KEY: 32 bytes, base64url-encoded;
//  2. the file named by --key-encryption-key-file;
//  3. for a SQLite store, the file `<database>.kek` beside the database.
// A file that does not exist is created with 32 random bytes and mode 0600. A file that exists
// must not be readable or writable by group or others. A PostgreSQL store has no default,
// because every instance must use the same key: copy one file to each instance, or set the
// variable.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/expected.h"

namespace devauth {

inline constexpr const char* kKeyEncryptionKeyVariable = "DEVAUTH_KEY_ENCRYPTION_KEY";

class KeyEncryptionKey {
 public:
  static constexpr std::size_t kBytes = 32;

  // Loads the KEK from the sources above. `file` is the configured path, empty for the default;
  // `store` is the store location. The messages name the file and the fix, never the key.
  static Expected<KeyEncryptionKey, std::string> load(const std::string& file,
                                                      const std::string& store);

  // Reads a base64url-encoded 32-byte key.
  static Expected<KeyEncryptionKey, std::string> fromText(std::string_view text);

  // Encrypts with XChaCha20-Poly1305 (libsodium) and a random nonce. `associated` is
  // authenticated but not encrypted: the kid, so a ciphertext cannot be moved to another row.
  std::string seal(std::string_view plaintext, std::string_view associated) const;
  // Decrypts; nullopt when the key, the ciphertext or `associated` is wrong.
  std::optional<std::string> open(std::string_view sealed, std::string_view associated) const;

  KeyEncryptionKey(const KeyEncryptionKey&) = default;
  KeyEncryptionKey& operator=(const KeyEncryptionKey&) = default;
  ~KeyEncryptionKey();

 private:
  KeyEncryptionKey() = default;

  std::array<std::uint8_t, kBytes> key_{};
};

}  // namespace devauth

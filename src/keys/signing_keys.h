#pragma once

// The keys that sign JWT access tokens (RFC 9068) and ID tokens: created, rotated by age and
// retired after an overlap, with every state kept in the store so that all instances on one
// database agree.
//
// Lifecycle: the newest stored key signs. A key is rotated once it is older than
// `rotation_age`, or when it uses another algorithm than the configured one: a new key is
// inserted with the store's conditional insert, so concurrent instances add one key between
// them, and each then signs with the newest key it reads. A replaced key stays published in the
// JWKS for `overlap` after its successor was created, so tokens it signed keep verifying, and is
// deleted after that. `overlap` must exceed the longest token lifetime plus the JWKS cache time.
//
// Keys are created on first use: a server that never signs needs no key-encryption key.
//
// Thread safety: every method may be called from any thread.

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/expected.h"
#include "jose/jws.h"
#include "keys/key_encryption.h"
#include "store/store.h"

namespace devauth {

struct SigningSettings {
  // The algorithm of new keys.
  jose::SigningAlgorithm algorithm = jose::SigningAlgorithm::Es256;
  // The age at which the signing key is replaced.
  seconds rotation_age{seconds(30L * 24 * 3600)};
  // How long a replaced key stays published.
  seconds overlap{seconds(24L * 3600)};
  // The key-encryption key file; empty for the default (keys/key_encryption.h).
  std::string key_encryption_key_file;
};

// The key that signs now.
struct ActiveSigningKey {
  std::string kid;
  jose::Key key;
};

// A stored key with its state at one moment.
struct SigningKeyStatus {
  SigningKeyRecord record;
  // The newest key: the one that signs.
  bool active = false;
  // When a replaced key leaves the JWKS: its successor's creation plus the overlap.
  std::optional<TimePoint> published_until;
};

class SigningKeys {
 public:
  // `store` and `clock` must outlive this object. `store_location` picks the default
  // key-encryption key file.
  SigningKeys(Store& store, const Clock& clock, SigningSettings settings,
              std::string store_location);

  // Returns the newest key, rotating first when none exists or the newest is due.
  Expected<ActiveSigningKey, std::string> activeKey();

  // Returns the public keys to publish: the newest and those replaced less than `overlap` ago,
  // each a JWK with kid, alg and use.
  Expected<std::vector<boost::json::object>, std::string> publishedJwks();

  // Creates a new key now, whatever the age of the newest, and returns it.
  Expected<SigningKeyRecord, std::string> rotate();

  // Rotates when keys exist and the newest is due, then deletes keys replaced more than
  // `overlap` ago. Called periodically by the server; creates no first key.
  Expected<void, std::string> maintain();

  // Every stored key with its state, the newest first.
  Expected<std::vector<SigningKeyStatus>, std::string> list();

  const SigningSettings& settings() const { return settings_; }

 private:
  bool isDue(const SigningKeyRecord& newest, TimePoint now) const;
  Expected<std::vector<SigningKeyRecord>, std::string> loadKeys();
  // Inserts a new key unless a key created after `unless_created_after` exists.
  Expected<void, std::string> insertNewKey(TimePoint now, TimePoint unless_created_after);
  Expected<jose::Key, std::string> decrypt(const SigningKeyRecord& record);
  Expected<const KeyEncryptionKey*, std::string> keyEncryptionKey();

  Store& store_;
  const Clock& clock_;
  const SigningSettings settings_;
  const std::string store_location_;

  std::mutex mutex_;
  std::optional<KeyEncryptionKey> kek_;         // guarded by mutex_
  std::map<std::string, jose::Key> decrypted_;  // guarded by mutex_; by kid
};

}  // namespace devauth

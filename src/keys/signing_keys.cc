#include "keys/signing_keys.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace devauth {
namespace {

std::string storeMessage(std::string_view operation, const StoreError& error) {
  return std::string(operation) + " failed: " + error.message;
}

}  // namespace

SigningKeys::SigningKeys(Store& store, const Clock& clock, SigningSettings settings,
                         std::string store_location)
    : store_(store),
      clock_(clock),
      settings_(std::move(settings)),
      store_location_(std::move(store_location)) {}

bool SigningKeys::isDue(const SigningKeyRecord& newest, TimePoint now) const {
  return newest.algorithm != jose::toString(settings_.algorithm) ||
         now - newest.created_at >= settings_.rotation_age;
}

Expected<std::vector<SigningKeyRecord>, std::string> SigningKeys::loadKeys() {
  auto keys = store_.listSigningKeys();
  if (!keys) {
    return unexpected(storeMessage("listing the signing keys", keys.error()));
  }
  return std::move(keys).value();
}

Expected<const KeyEncryptionKey*, std::string> SigningKeys::keyEncryptionKey() {
  std::lock_guard lock(mutex_);
  if (!kek_) {
    auto loaded = KeyEncryptionKey::load(settings_.key_encryption_key_file, store_location_);
    if (!loaded) {
      return unexpected(loaded.error());
    }
    kek_.emplace(std::move(loaded).value());
  }
  return &*kek_;
}

Expected<void, std::string> SigningKeys::insertNewKey(TimePoint now,
                                                      TimePoint unless_created_after) {
  auto kek = keyEncryptionKey();
  if (!kek) {
    return unexpected(kek.error());
  }
  auto key = jose::Key::generate(settings_.algorithm);
  if (!key) {
    return unexpected(key.error());
  }
  SigningKeyRecord record;
  record.kid = key->thumbprint();
  record.algorithm = jose::toString(settings_.algorithm);
  record.public_jwk = boost::json::serialize(key->publicJwk());
  std::string pem = key->privatePem();
  record.encrypted_private_key = (*kek)->seal(pem, record.kid);
  std::fill(pem.begin(), pem.end(), '\0');
  // A new key is always the newest, even when this instance's clock is behind the one that
  // created the previous key, so that the rotation cannot repeat on every call.
  record.created_at = std::max(now, unless_created_after + milliseconds(1));

  auto inserted = store_.insertSigningKey(record, unless_created_after);
  if (!inserted) {
    return unexpected(storeMessage("inserting a signing key", inserted.error()));
  }
  if (*inserted) {
    spdlog::info("event=signing_key_created kid={} algorithm={}", record.kid, record.algorithm);
    std::lock_guard lock(mutex_);
    decrypted_.emplace(record.kid, std::move(*key));
  }
  return {};
}

Expected<jose::Key, std::string> SigningKeys::decrypt(const SigningKeyRecord& record) {
  {
    std::lock_guard lock(mutex_);
    if (auto found = decrypted_.find(record.kid); found != decrypted_.end()) {
      return found->second;
    }
  }
  const auto algorithm = jose::parseSigningAlgorithm(record.algorithm);
  if (!algorithm) {
    return unexpected("the signing key " + record.kid + " has an unknown algorithm");
  }
  auto kek = keyEncryptionKey();
  if (!kek) {
    return unexpected(kek.error());
  }
  auto pem = (*kek)->open(record.encrypted_private_key, record.kid);
  if (!pem) {
    return unexpected("the signing key " + record.kid +
                      " cannot be decrypted: the key-encryption key differs from the one that "
                      "encrypted it");
  }
  auto key = jose::Key::fromPrivatePem(*pem, *algorithm);
  std::fill(pem->begin(), pem->end(), '\0');
  if (!key) {
    return unexpected(key.error());
  }
  std::lock_guard lock(mutex_);
  decrypted_.emplace(record.kid, *key);
  return std::move(key).value();
}

Expected<ActiveSigningKey, std::string> SigningKeys::activeKey() {
  const TimePoint now = clock_.now();
  auto keys = loadKeys();
  if (!keys) {
    return unexpected(keys.error());
  }
  if (keys->empty() || isDue(keys->front(), now)) {
    // Compare-and-set on the newest key seen: when another instance rotated first, this insert
    // does nothing and the reload below finds its key.
    const TimePoint newest_seen = keys->empty() ? fromUnixMillis(-1) : keys->front().created_at;
    auto inserted = insertNewKey(now, newest_seen);
    if (!inserted) {
      return unexpected(inserted.error());
    }
    keys = loadKeys();
    if (!keys) {
      return unexpected(keys.error());
    }
    if (keys->empty()) {
      return unexpected(std::string("no signing key was stored"));
    }
  }
  const SigningKeyRecord& newest = keys->front();
  auto key = decrypt(newest);
  if (!key) {
    return unexpected(key.error());
  }
  return ActiveSigningKey{newest.kid, std::move(key).value()};
}

Expected<std::vector<boost::json::object>, std::string> SigningKeys::publishedJwks() {
  auto statuses = list();
  if (!statuses) {
    return unexpected(statuses.error());
  }
  const TimePoint now = clock_.now();
  std::vector<boost::json::object> jwks;
  for (const SigningKeyStatus& status : *statuses) {
    if (!status.active && (!status.published_until || *status.published_until <= now)) {
      continue;
    }
    boost::system::error_code error;
    boost::json::value jwk = boost::json::parse(status.record.public_jwk, error);
    if (error || !jwk.is_object()) {
      spdlog::error("event=signing_key_unreadable kid={}", status.record.kid);
      continue;
    }
    boost::json::object& object = jwk.as_object();
    object["kid"] = status.record.kid;
    object["alg"] = status.record.algorithm;
    object["use"] = "sig";
    jwks.push_back(std::move(object));
  }
  return jwks;
}

Expected<SigningKeyRecord, std::string> SigningKeys::rotate() {
  const TimePoint now = clock_.now();
  auto keys = loadKeys();
  if (!keys) {
    return unexpected(keys.error());
  }
  const TimePoint newest_seen = keys->empty() ? fromUnixMillis(-1) : keys->front().created_at;
  auto inserted = insertNewKey(now, newest_seen);
  if (!inserted) {
    return unexpected(inserted.error());
  }
  keys = loadKeys();
  if (!keys) {
    return unexpected(keys.error());
  }
  if (keys->empty()) {
    return unexpected(std::string("no signing key was stored"));
  }
  return keys->front();
}

Expected<void, std::string> SigningKeys::maintain() {
  const TimePoint now = clock_.now();
  auto keys = loadKeys();
  if (!keys) {
    return unexpected(keys.error());
  }
  if (!keys->empty() && isDue(keys->front(), now)) {
    auto inserted = insertNewKey(now, keys->front().created_at);
    if (!inserted) {
      return unexpected(inserted.error());
    }
  }
  auto removed = store_.removeRetiredSigningKeys(now - settings_.overlap);
  if (!removed) {
    return unexpected(storeMessage("removing retired signing keys", removed.error()));
  }
  if (*removed > 0) {
    spdlog::info("event=signing_keys_removed count={}", *removed);
  }
  return {};
}

Expected<std::vector<SigningKeyStatus>, std::string> SigningKeys::list() {
  auto keys = loadKeys();
  if (!keys) {
    return unexpected(keys.error());
  }
  std::vector<SigningKeyStatus> statuses;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    SigningKeyStatus status;
    status.record = (*keys)[i];
    status.active = i == 0;
    if (i > 0) {
      // Keys are newest first, so the successor of key i is key i - 1.
      status.published_until = (*keys)[i - 1].created_at + settings_.overlap;
    }
    statuses.push_back(std::move(status));
  }
  return statuses;
}

}  // namespace devauth

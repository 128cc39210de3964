#include "cli/accounts.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>

#include "core/secret.h"
#include "store/store_location.h"

namespace devauth::cli {

Expected<std::unique_ptr<Store>, std::string> openMigratedStore(const std::string& location) {
  auto opened = openStore(location);
  if (!opened) {
    return unexpected(fmt::format("cannot open the store '{}': {}", redactStoreLocation(location),
                                  opened.error().message));
  }
  auto migrated = (*opened)->migrate();
  if (!migrated) {
    return unexpected(fmt::format("cannot create or upgrade the schema of the store '{}': {}",
                                  redactStoreLocation(location), migrated.error().message));
  }
  return std::move(opened.value());
}

std::string generateSubject(RandomSource& random) {
  std::array<std::uint8_t, 16> bytes{};
  random.fill(bytes);
  std::string subject;
  for (std::uint8_t byte : bytes) {
    subject += fmt::format("{:02x}", byte);
  }
  return subject;
}

Expected<void, std::string> createUser(Store& store, const std::string& username,
                                       std::string_view password, RandomSource& random,
                                       TimePoint now) {
  User user;
  user.username = username;
  user.subject = generateSubject(random);
  user.password_hash = hashPassword(password);
  user.created_at = now;
  if (user.password_hash.empty()) {
    return unexpected(std::string("hashing the password failed: libsodium is out of memory"));
  }

  auto inserted = store.insertUser(user);
  if (!inserted) {
    if (inserted.error().kind == StoreError::Kind::Conflict) {
      return unexpected(fmt::format("the username '{}' is already taken", username));
    }
    return unexpected(
        fmt::format("cannot store the user '{}': {}", username, inserted.error().message));
  }
  return {};
}

}  // namespace devauth::cli

#pragma once

// Store access shared by the administrative commands: opening the store and creating users.

#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/expected.h"
#include "core/random.h"
#include "store/store.h"

namespace devauth::cli {

// Opens the store at `location` and creates or upgrades its schema. The error is a message
// that names the location.
Expected<std::unique_ptr<Store>, std::string> openMigratedStore(const std::string& location);

// Returns a new subject: 16 bytes from `random` as 32 hex digits, so tokens do not carry the
// username.
std::string generateSubject(RandomSource& random);

// Hashes `password` with argon2id and inserts the user with a new subject. The error is a
// message for the operator, for example when the username is taken.
Expected<void, std::string> createUser(Store& store, const std::string& username,
                                       std::string_view password, RandomSource& random,
                                       TimePoint now);

}  // namespace devauth::cli

#pragma once

// Fills a migrated devauth SQLite database with pending device authorizations in one
// transaction, for the benchmarks. A row inserted here is the row that POST
// /oauth/device/begin would have stored for a client that does not accept relayed tokens: the
// SHA-256 hashes of a real device code and user code, the client, scope, times in Unix
// milliseconds, and no relay public key.

#include <cstddef>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/expected.h"

namespace devauth::bench {

struct SeedOptions {
  std::string client_id;
  std::string scope;
  std::size_t rows = 0;
  // The codes of the first `kept_codes` rows are returned.
  std::size_t kept_codes = 0;
  TimePoint now{};
  seconds ttl{600};
  seconds interval{5};
};

struct SeededCode {
  std::string id;
  std::string device_code;
  // Canonical form, without the dash.
  std::string user_code;
};

// Returns the codes of the first `kept_codes` rows, or an error message.
Expected<std::vector<SeededCode>, std::string> seedAuthorizations(const std::string& path,
                                                                  const SeedOptions& options);

}  // namespace devauth::bench

#include "bulk_seed.h"

#include <sqlite3.h>

#include <memory>

#include "core/authorization.h"
#include "core/device_code.h"
#include "core/random.h"
#include "core/secret.h"
#include "core/user_code.h"

namespace devauth::bench {
namespace {

using Database = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;
using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

std::string lastError(sqlite3* db, const char* what) {
  return std::string(what) + ": " + sqlite3_errmsg(db);
}

bool execute(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

void bindBlob(sqlite3_stmt* statement, int index, const std::uint8_t* data, std::size_t size) {
  sqlite3_bind_blob(statement, index, data, static_cast<int>(size), SQLITE_TRANSIENT);
}

}  // namespace

Expected<std::vector<SeededCode>, std::string> seedAuthorizations(const std::string& path,
                                                                  const SeedOptions& options) {
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    Database closing(raw, &sqlite3_close);
    return unexpected(lastError(raw, "open"));
  }
  Database db(raw, &sqlite3_close);
  // A bulk load: the file is synced once by the checkpoint at the end.
  if (!execute(db.get(), "PRAGMA synchronous = OFF; PRAGMA cache_size = -512000;") ||
      !execute(db.get(), "BEGIN IMMEDIATE")) {
    return unexpected(lastError(db.get(), "begin"));
  }

  sqlite3_stmt* prepared = nullptr;
  const char* sql =
      "INSERT INTO authorizations (id, device_code_hash, user_code_hash, client_id, scope, state, "
      "created_at, expires_at, interval_seconds, last_poll_at, subject, decided_at, "
      "relay_public_key, sealed_relay_token) "
      "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, NULL, NULL, NULL, NULL, NULL)";
  if (sqlite3_prepare_v2(db.get(), sql, -1, &prepared, nullptr) != SQLITE_OK) {
    return unexpected(lastError(db.get(), "prepare"));
  }
  Statement insert(prepared, &sqlite3_finalize);

  CsprngRandom random;
  std::vector<SeededCode> kept;
  kept.reserve(options.kept_codes);
  const long long created_at = toUnixMillis(options.now);
  const long long expires_at = toUnixMillis(options.now + options.ttl);
  std::size_t inserted = 0;
  while (inserted < options.rows) {
    SeededCode codes{newAuthorizationId(random, options.now),
                     generateDeviceCode(random, options.now), generateUserCode(random)};
    const std::string& id = codes.id;
    const SecretHash device_hash = deviceCodeKey(codes.device_code);
    const SecretHash user_hash = hashSecret(codes.user_code);

    sqlite3_stmt* s = insert.get();
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, id.c_str(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    bindBlob(s, 2, device_hash.data(), device_hash.size());
    bindBlob(s, 3, user_hash.data(), user_hash.size());
    sqlite3_bind_text(s, 4, options.client_id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, options.scope.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, created_at);
    sqlite3_bind_int64(s, 7, expires_at);
    sqlite3_bind_int64(s, 8, options.interval.count());
    const int stepped = sqlite3_step(s);
    if (stepped == SQLITE_CONSTRAINT) {
      // A user code drawn twice among many rows (20^8 codes); draw new codes, as the server does.
      continue;
    }
    if (stepped != SQLITE_DONE) {
      return unexpected(lastError(db.get(), "insert"));
    }
    if (inserted < options.kept_codes) {
      kept.push_back(std::move(codes));
    }
    ++inserted;
  }
  insert.reset();
  if (!execute(db.get(), "COMMIT") || !execute(db.get(), "PRAGMA wal_checkpoint(TRUNCATE)")) {
    return unexpected(lastError(db.get(), "commit"));
  }
  return kept;
}

}  // namespace devauth::bench

#include "store/sqlite/sqlite_schema.h"

#include <fmt/format.h>

#include <array>

namespace devauth::sqlite {
namespace {

// Migration N (1-based) brings the schema from version N-1 to N. Append new migrations; never
// edit one that has shipped.
//
// Conventions: secrets are 32-byte SHA-256 BLOBs, times are INTEGER Unix milliseconds, scope
// lists are space-separated TEXT. STRICT tables reject values of the wrong type.
constexpr std::array<const char*, 9> kMigrations = {
    R"sql(
CREATE TABLE clients (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('public', 'confidential')),
  secret_hash BLOB CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
  allowed_scopes TEXT NOT NULL,
  default_scopes TEXT NOT NULL,
  device_grant INTEGER NOT NULL CHECK (device_grant IN (0, 1)),
  may_approve INTEGER NOT NULL CHECK (may_approve IN (0, 1)),
  access_token_ttl_seconds INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
  username TEXT PRIMARY KEY,
  subject TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

-- Removing a client removes its authorizations and tokens with it.
CREATE TABLE authorizations (
  id TEXT PRIMARY KEY,
  device_code_hash BLOB NOT NULL UNIQUE CHECK (length(device_code_hash) = 32),
  user_code_hash BLOB NOT NULL UNIQUE CHECK (length(user_code_hash) = 32),
  client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  scope TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'redeemed')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  interval_seconds INTEGER NOT NULL,
  last_poll_at INTEGER,
  subject TEXT,
  decided_at INTEGER,
  relay_public_key BLOB NOT NULL CHECK (length(relay_public_key) = 32),
  sealed_relay_token BLOB
) STRICT;
CREATE INDEX authorizations_expires_at ON authorizations (expires_at);
CREATE INDEX authorizations_client_id ON authorizations (client_id);

-- A token outlives the purge of its authorization, so authorization_id is not a foreign key.
CREATE TABLE tokens (
  token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
  authorization_id TEXT NOT NULL,
  client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  subject TEXT NOT NULL,
  scope TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX tokens_expires_at ON tokens (expires_at);
CREATE INDEX tokens_client_id ON tokens (client_id);

CREATE TABLE browser_sessions (
  id_hash BLOB PRIMARY KEY CHECK (length(id_hash) = 32),
  subject TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX browser_sessions_expires_at ON browser_sessions (expires_at);
)sql",
    R"sql(
-- Fixed-window rate-limit counters: one row per key, holding the count of its latest window.
CREATE TABLE rate_counters (
  key TEXT PRIMARY KEY,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  count INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX rate_counters_window_end ON rate_counters (window_end);
)sql",
    R"sql(
-- JWT access tokens (RFC 9068) per client, and the keys that sign them and ID tokens. The
-- private key is encrypted with the key-encryption key, never stored in clear.
ALTER TABLE clients ADD COLUMN access_token_format TEXT NOT NULL DEFAULT 'opaque'
  CHECK (access_token_format IN ('opaque', 'jwt'));

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  algorithm TEXT NOT NULL CHECK (algorithm IN ('ES256', 'EdDSA')),
  public_jwk TEXT NOT NULL,
  encrypted_private_key BLOB NOT NULL,
  created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX signing_keys_created_at ON signing_keys (created_at);
)sql",
    R"sql(
-- Refresh tokens (RFC 6749 §6). A grant is one approval; its id is the authorization's id, and
-- its refresh tokens and access tokens carry it, so revoked_at on one row revokes them all.
ALTER TABLE clients ADD COLUMN refresh_grant INTEGER NOT NULL DEFAULT 0
  CHECK (refresh_grant IN (0, 1));
ALTER TABLE clients ADD COLUMN may_introspect INTEGER NOT NULL DEFAULT 0
  CHECK (may_introspect IN (0, 1));

CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  subject TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
) STRICT;
CREATE INDEX grants_expires_at ON grants (expires_at);
CREATE INDEX grants_client_id ON grants (client_id);

-- Used tokens stay until their grant is purged, so that a replay is recognised.
CREATE TABLE refresh_tokens (
  token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
  grant_id TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);
)sql",
    R"sql(
-- Assisted approval: a trusted backend binds a pending code to the one subject that may
-- approve or deny it.
ALTER TABLE authorizations ADD COLUMN bound_subject TEXT;
)sql",
    R"sql(
-- Where the device authorization request came from, for the consent page: the client's IP
-- address and its shortened User-Agent, '' when unknown.
ALTER TABLE authorizations ADD COLUMN request_address TEXT NOT NULL DEFAULT '';
ALTER TABLE authorizations ADD COLUMN request_user_agent TEXT NOT NULL DEFAULT '';
)sql",
    R"sql(
-- Per-client user code profiles (RFC 8628 §6.1) and code lifetime and poll interval; NULL
-- lifetimes use the server's settings.
ALTER TABLE clients ADD COLUMN user_code_profile TEXT NOT NULL DEFAULT 'letters:8:4';
ALTER TABLE clients ADD COLUMN device_code_ttl_seconds INTEGER;
ALTER TABLE clients ADD COLUMN poll_interval_seconds INTEGER;
)sql",
    R"sql(
-- Relayed tokens become a per-client choice, and authorizations of other clients get no relay
-- key. SQLite cannot drop NOT NULL from a column, so the authorizations table is rebuilt with
-- the same columns in the same order; no other table references it. The state check compares
-- one value at a time, because SQLite 3.40 evaluates a CHECK with an IN list of four constants
-- by building a temporary b-tree at every insert and update (EXPLAIN shows OpenEphemeral).
ALTER TABLE clients ADD COLUMN accepts_relayed_tokens INTEGER NOT NULL DEFAULT 0
  CHECK (accepts_relayed_tokens IN (0, 1));

CREATE TABLE authorizations_rebuilt (
  id TEXT PRIMARY KEY,
  device_code_hash BLOB NOT NULL UNIQUE CHECK (length(device_code_hash) = 32),
  user_code_hash BLOB NOT NULL UNIQUE CHECK (length(user_code_hash) = 32),
  client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  scope TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state = 'pending' OR state = 'approved' OR state = 'denied'
                             OR state = 'redeemed'),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  interval_seconds INTEGER NOT NULL,
  last_poll_at INTEGER,
  subject TEXT,
  decided_at INTEGER,
  relay_public_key BLOB CHECK (relay_public_key IS NULL OR length(relay_public_key) = 32),
  sealed_relay_token BLOB,
  bound_subject TEXT,
  request_address TEXT NOT NULL DEFAULT '',
  request_user_agent TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO authorizations_rebuilt
  SELECT id, device_code_hash, user_code_hash, client_id, scope, state, created_at, expires_at,
         interval_seconds, last_poll_at, subject, decided_at, relay_public_key,
         sealed_relay_token, bound_subject, request_address, request_user_agent
  FROM authorizations;
DROP TABLE authorizations;
ALTER TABLE authorizations_rebuilt RENAME TO authorizations;
CREATE INDEX authorizations_expires_at ON authorizations (expires_at);
CREATE INDEX authorizations_client_id ON authorizations (client_id);
)sql",
    R"sql(
-- One index on (client_id, expires_at) replaces those on expires_at and on client_id, so each
-- new authorization writes one b-tree fewer. Queries by expiry alone name every client
-- (client_id IN (SELECT id FROM clients)) to search it once per client, and the foreign key
-- to clients uses its first column.
DROP INDEX authorizations_expires_at;
DROP INDEX authorizations_client_id;
CREATE INDEX authorizations_client_id_expires_at ON authorizations (client_id, expires_at);
)sql",
};

StoreResult<int> readSchemaVersion(Connection& connection) {
  auto statement = connection.prepare("PRAGMA user_version");
  if (!statement) {
    return unexpected(statement.error());
  }
  auto row = statement->step();
  if (!row) {
    return unexpected(row.error());
  }
  if (!*row) {
    return unexpected(
        StoreError{StoreError::Kind::Internal, "SQLite: PRAGMA user_version returned no row"});
  }
  return static_cast<int>(statement->columnInt(0));
}

// Applies migration `version` unless another process applied it since the caller looked.
StoreResult<void> applyMigration(Connection& connection, int version) {
  auto transaction = Transaction::beginImmediate(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }
  auto current = readSchemaVersion(connection);
  if (!current) {
    return unexpected(current.error());
  }
  if (*current >= version) {
    return {};
  }

  const auto context = fmt::format("schema migration {}", version);
  auto applied = connection.execute(kMigrations[version - 1], context);
  if (!applied) {
    return applied;
  }
  // PRAGMA takes no bound parameters; `version` is an int from this file.
  const auto set_version = fmt::format("PRAGMA user_version = {}", version);
  auto stamped = connection.execute(set_version.c_str(), context);
  if (!stamped) {
    return stamped;
  }
  return transaction->commit();
}

}  // namespace

int latestSchemaVersion() { return static_cast<int>(kMigrations.size()); }

StoreResult<void> migrateSchema(Connection& connection) {
  auto current = readSchemaVersion(connection);
  if (!current) {
    return unexpected(current.error());
  }
  if (*current > latestSchemaVersion()) {
    return unexpected(StoreError{
        StoreError::Kind::Internal,
        fmt::format("SQLite: the database has schema version {}, newer than the {} this build "
                    "supports; run a newer devauth",
                    *current, latestSchemaVersion())});
  }
  for (int version = *current + 1; version <= latestSchemaVersion(); ++version) {
    auto applied = applyMigration(connection, version);
    if (!applied) {
      return applied;
    }
  }
  return {};
}

}  // namespace devauth::sqlite

#include "store/postgres/pg_schema.h"

#include <fmt/format.h>

#include <array>

namespace devauth::postgres {
namespace {

// The key of the advisory lock that serialises migrations: the bytes of "devauth\0" as a
// bigint. Other applications that share the database are unlikely to use the same key.
constexpr long long kMigrationLockKey = 0x6465766175746800;

// Migration N (1-based) brings the schema from version N-1 to N. Append new migrations; never
// edit one that has shipped.
//
// Conventions, the same as the SQLite backend's: secrets are 32-byte SHA-256 bytea, times are
// bigint Unix milliseconds, scope lists are space-separated text.
constexpr std::array<const char*, 9> kMigrations = {
    R"sql(
CREATE TABLE clients (
  id text PRIMARY KEY,
  name text NOT NULL,
  type text NOT NULL CHECK (type IN ('public', 'confidential')),
  secret_hash bytea CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
  allowed_scopes text NOT NULL,
  default_scopes text NOT NULL,
  device_grant boolean NOT NULL,
  may_approve boolean NOT NULL,
  access_token_ttl_seconds bigint NOT NULL,
  created_at bigint NOT NULL
);

CREATE TABLE users (
  username text PRIMARY KEY,
  subject text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  created_at bigint NOT NULL
);

-- Removing a client removes its authorizations and tokens with it.
CREATE TABLE authorizations (
  id text PRIMARY KEY,
  device_code_hash bytea NOT NULL UNIQUE CHECK (length(device_code_hash) = 32),
  user_code_hash bytea NOT NULL UNIQUE CHECK (length(user_code_hash) = 32),
  client_id text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  scope text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'redeemed')),
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  interval_seconds bigint NOT NULL,
  last_poll_at bigint,
  subject text,
  decided_at bigint,
  relay_public_key bytea NOT NULL CHECK (length(relay_public_key) = 32),
  sealed_relay_token bytea
);
CREATE INDEX authorizations_expires_at ON authorizations (expires_at);
CREATE INDEX authorizations_client_id ON authorizations (client_id);

-- A token outlives the purge of its authorization, so authorization_id is not a foreign key.
CREATE TABLE tokens (
  token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
  authorization_id text NOT NULL,
  client_id text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  subject text NOT NULL,
  scope text NOT NULL,
  issued_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);
CREATE INDEX tokens_client_id ON tokens (client_id);

CREATE TABLE browser_sessions (
  id_hash bytea PRIMARY KEY CHECK (length(id_hash) = 32),
  subject text,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX browser_sessions_expires_at ON browser_sessions (expires_at);
)sql",
    R"sql(
-- Fixed-window rate-limit counters: one row per key, holding the count of its latest window.
CREATE TABLE rate_counters (
  key text PRIMARY KEY,
  window_start bigint NOT NULL,
  window_end bigint NOT NULL,
  count bigint NOT NULL
);
CREATE INDEX rate_counters_window_end ON rate_counters (window_end);
)sql",
    R"sql(
-- JWT access tokens (RFC 9068) per client, and the keys that sign them and ID tokens. The
-- private key is encrypted with the key-encryption key, never stored in clear.
ALTER TABLE clients ADD COLUMN access_token_format text NOT NULL DEFAULT 'opaque'
  CHECK (access_token_format IN ('opaque', 'jwt'));

CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  algorithm text NOT NULL CHECK (algorithm IN ('ES256', 'EdDSA')),
  public_jwk text NOT NULL,
  encrypted_private_key bytea NOT NULL,
  created_at bigint NOT NULL
);
CREATE INDEX signing_keys_created_at ON signing_keys (created_at);
)sql",
    R"sql(
-- Refresh tokens (RFC 6749 §6). A grant is one approval; its id is the authorization's id, and
-- its refresh tokens and access tokens carry it, so revoked_at on one row revokes them all.
ALTER TABLE clients ADD COLUMN refresh_grant boolean NOT NULL DEFAULT false;
ALTER TABLE clients ADD COLUMN may_introspect boolean NOT NULL DEFAULT false;

CREATE TABLE grants (
  id text PRIMARY KEY,
  client_id text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  subject text NOT NULL,
  scope text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX grants_expires_at ON grants (expires_at);
CREATE INDEX grants_client_id ON grants (client_id);

-- Used tokens stay until their grant is purged, so that a replay is recognised.
CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
  grant_id text NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
  issued_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  used_at bigint
);
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);
)sql",
    R"sql(
-- Assisted approval: a trusted backend binds a pending code to the one subject that may
-- approve or deny it.
ALTER TABLE authorizations ADD COLUMN bound_subject text;
)sql",
    R"sql(
-- Where the device authorization request came from, for the consent page: the client's IP
-- address and its shortened User-Agent, '' when unknown.
ALTER TABLE authorizations ADD COLUMN request_address text NOT NULL DEFAULT '';
ALTER TABLE authorizations ADD COLUMN request_user_agent text NOT NULL DEFAULT '';
)sql",
    R"sql(
-- Per-client user code profiles (RFC 8628 §6.1) and code lifetime and poll interval; NULL
-- lifetimes use the server's settings.
ALTER TABLE clients ADD COLUMN user_code_profile text NOT NULL DEFAULT 'letters:8:4';
ALTER TABLE clients ADD COLUMN device_code_ttl_seconds bigint;
ALTER TABLE clients ADD COLUMN poll_interval_seconds bigint;
)sql",
    R"sql(
-- Relayed tokens become a per-client choice, and authorizations of other clients get no relay
-- key. The length CHECK of relay_public_key passes for NULL.
ALTER TABLE clients ADD COLUMN accepts_relayed_tokens boolean NOT NULL DEFAULT false;
ALTER TABLE authorizations ALTER COLUMN relay_public_key DROP NOT NULL;
)sql",
    R"sql(
-- One index on (client_id, expires_at) replaces those on expires_at and on client_id, so each
-- new authorization updates one index fewer. Queries by expiry alone name every client
-- (client_id IN (SELECT id FROM clients)) so that they can search it once per client.
DROP INDEX authorizations_expires_at;
DROP INDEX authorizations_client_id;
CREATE INDEX authorizations_client_id_expires_at ON authorizations (client_id, expires_at);
)sql",
};

StoreResult<int> readSchemaVersion(Connection& connection) {
  auto created = connection.executeScript(
      "CREATE TABLE IF NOT EXISTS devauth_schema (version integer NOT NULL)",
      "creating the schema version table");
  if (!created) {
    return unexpected(created.error());
  }
  auto found = connection.execute("SELECT version FROM devauth_schema", Params(),
                                  "reading the schema version");
  if (!found) {
    return unexpected(found.error());
  }
  if (found->rows() == 0) {
    auto inserted = connection.execute("INSERT INTO devauth_schema (version) VALUES (0)", Params(),
                                       "initialising the schema version");
    if (!inserted) {
      return unexpected(inserted.error());
    }
    return 0;
  }
  const auto version = found->integer(0, 0);
  if (found->rows() != 1 || !version) {
    return unexpected(StoreError{StoreError::Kind::Internal,
                                 "PostgreSQL: the table devauth_schema must hold one version row"});
  }
  return static_cast<int>(*version);
}

StoreResult<void> applyMigrations(Connection& connection, int current) {
  for (int version = current + 1; version <= latestSchemaVersion(); ++version) {
    const auto context = fmt::format("schema migration {}", version);
    auto applied = connection.executeScript(kMigrations[version - 1], context);
    if (!applied) {
      return applied;
    }
    auto stamped = connection.execute("UPDATE devauth_schema SET version = $1",
                                      Params().integer(version), context);
    if (!stamped) {
      return unexpected(stamped.error());
    }
  }
  return {};
}

}  // namespace

int latestSchemaVersion() { return static_cast<int>(kMigrations.size()); }

StoreResult<void> migrateSchema(Connection& connection) {
  auto transaction = Transaction::begin(connection);
  if (!transaction) {
    return unexpected(transaction.error());
  }
  // Held until COMMIT or ROLLBACK. DDL is transactional in PostgreSQL, so a failed migration
  // leaves nothing behind.
  auto locked =
      connection.execute("SELECT pg_advisory_xact_lock($1::bigint)",
                         Params().integer(kMigrationLockKey), "taking the migration lock");
  if (!locked) {
    return unexpected(locked.error());
  }

  auto current = readSchemaVersion(connection);
  if (!current) {
    return unexpected(current.error());
  }
  if (*current > latestSchemaVersion()) {
    return unexpected(StoreError{
        StoreError::Kind::Internal,
        fmt::format("PostgreSQL: the database has schema version {}, newer than the {} this "
                    "build supports; run a newer devauth",
                    *current, latestSchemaVersion())});
  }
  auto applied = applyMigrations(connection, *current);
  if (!applied) {
    return applied;
  }
  return transaction->commit();
}

}  // namespace devauth::postgres

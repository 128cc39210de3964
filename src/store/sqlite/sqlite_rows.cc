#include "store/sqlite/sqlite_rows.h"

#include <fmt/format.h>

#include <algorithm>

namespace devauth::sqlite {
namespace {

StoreError corruptRow(std::string_view table, std::string_view problem) {
  return StoreError{StoreError::Kind::Internal,
                    fmt::format("SQLite: a row of {} is invalid: {}", table, problem)};
}

std::span<const std::uint8_t> asBytes(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Splits a stored space-separated list that joinScope wrote. An empty text is an empty list.
std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(' ', start), text.size());
    if (end > start) {
      items.push_back(text.substr(start, end - start));
    }
    start = end + 1;
  }
  return items;
}

// Copies a 32-byte BLOB column into `out`. Returns false when the column has another size.
bool readArray32(const Statement& row, int column, std::array<std::uint8_t, 32>& out) {
  const auto bytes = row.columnBytes(column);
  if (bytes.size() != out.size()) {
    return false;
  }
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return true;
}

std::optional<TimePoint> readOptionalTime(const Statement& row, int column) {
  if (row.isNull(column)) {
    return std::nullopt;
  }
  return fromUnixMillis(row.columnInt(column));
}

std::optional<std::string> readOptionalText(const Statement& row, int column) {
  if (row.isNull(column)) {
    return std::nullopt;
  }
  return row.columnText(column);
}

}  // namespace

std::optional<long long> millisOrNull(const std::optional<TimePoint>& time) {
  if (!time) {
    return std::nullopt;
  }
  return toUnixMillis(*time);
}

std::optional<std::span<const std::uint8_t>> bytesOrNull(const std::optional<std::string>& text) {
  if (!text) {
    return std::nullopt;
  }
  return asBytes(*text);
}

StoreResult<Client> readClient(const Statement& row) {
  Client client;
  client.id = row.columnText(0);
  client.name = row.columnText(1);
  const auto type = parseClientType(row.columnText(2));
  if (!type) {
    return unexpected(corruptRow("clients", "unknown client type"));
  }
  client.type = *type;
  if (!row.isNull(3)) {
    client.secret_hash.emplace();
    if (!readArray32(row, 3, *client.secret_hash)) {
      return unexpected(corruptRow("clients", "secret_hash is not 32 bytes"));
    }
  }
  client.allowed_scopes = splitList(row.columnText(4));
  client.default_scopes = splitList(row.columnText(5));
  client.device_grant = row.columnInt(6) != 0;
  client.may_approve = row.columnInt(7) != 0;
  client.access_token_ttl = seconds(row.columnInt(8));
  client.created_at = fromUnixMillis(row.columnInt(9));
  const auto format = parseAccessTokenFormat(row.columnText(10));
  if (!format) {
    return unexpected(corruptRow("clients", "unknown access token format"));
  }
  client.access_token_format = *format;
  client.refresh_grant = row.columnInt(11) != 0;
  client.may_introspect = row.columnInt(12) != 0;
  auto profile = parseUserCodeProfile(row.columnText(13));
  if (!profile) {
    return unexpected(corruptRow("clients", "invalid user_code_profile"));
  }
  client.code_settings.user_code_profile = *profile;
  if (!row.isNull(14)) {
    client.code_settings.device_code_ttl = seconds(row.columnInt(14));
  }
  if (!row.isNull(15)) {
    client.code_settings.poll_interval = seconds(row.columnInt(15));
  }
  client.accepts_relayed_tokens = row.columnInt(16) != 0;
  return client;
}

StoreResult<User> readUser(const Statement& row) {
  User user;
  user.username = row.columnText(0);
  user.subject = row.columnText(1);
  user.password_hash = row.columnText(2);
  user.created_at = fromUnixMillis(row.columnInt(3));
  return user;
}

StoreResult<Authorization> readAuthorization(const Statement& row) {
  Authorization authorization;
  authorization.id = row.columnText(0);
  if (!readArray32(row, 1, authorization.device_code_hash) ||
      !readArray32(row, 2, authorization.user_code_hash)) {
    return unexpected(corruptRow("authorizations", "a hash is not 32 bytes"));
  }
  if (!row.isNull(12)) {
    if (!readArray32(row, 12, authorization.relay_public_key.emplace())) {
      return unexpected(corruptRow("authorizations", "relay_public_key is not 32 bytes"));
    }
  }
  authorization.client_id = row.columnText(3);
  authorization.scope = row.columnText(4);
  const auto state = parseAuthorizationState(row.columnText(5));
  if (!state) {
    return unexpected(corruptRow("authorizations", "unknown state"));
  }
  authorization.state = *state;
  authorization.created_at = fromUnixMillis(row.columnInt(6));
  authorization.expires_at = fromUnixMillis(row.columnInt(7));
  authorization.interval = seconds(row.columnInt(8));
  authorization.last_poll_at = readOptionalTime(row, 9);
  authorization.subject = readOptionalText(row, 10);
  authorization.decided_at = readOptionalTime(row, 11);
  if (!row.isNull(13)) {
    const auto sealed = row.columnBytes(13);
    authorization.sealed_relay_token.emplace(sealed.begin(), sealed.end());
  }
  authorization.bound_subject = readOptionalText(row, 14);
  authorization.request_address = row.columnText(15);
  authorization.request_user_agent = row.columnText(16);
  return authorization;
}

StoreResult<IssuedToken> readToken(const Statement& row) {
  IssuedToken token;
  if (!readArray32(row, 0, token.token_hash)) {
    return unexpected(corruptRow("tokens", "token_hash is not 32 bytes"));
  }
  token.authorization_id = row.columnText(1);
  token.client_id = row.columnText(2);
  token.subject = row.columnText(3);
  token.scope = row.columnText(4);
  token.issued_at = fromUnixMillis(row.columnInt(5));
  token.expires_at = fromUnixMillis(row.columnInt(6));
  return token;
}

StoreResult<BrowserSession> readSession(const Statement& row) {
  BrowserSession session;
  if (!readArray32(row, 0, session.id_hash)) {
    return unexpected(corruptRow("browser_sessions", "id_hash is not 32 bytes"));
  }
  session.subject = readOptionalText(row, 1);
  session.created_at = fromUnixMillis(row.columnInt(2));
  session.expires_at = fromUnixMillis(row.columnInt(3));
  return session;
}

StoreResult<SigningKeyRecord> readSigningKey(const Statement& row) {
  SigningKeyRecord key;
  key.kid = row.columnText(0);
  key.algorithm = row.columnText(1);
  key.public_jwk = row.columnText(2);
  const auto sealed = row.columnBytes(3);
  key.encrypted_private_key.assign(sealed.begin(), sealed.end());
  key.created_at = fromUnixMillis(row.columnInt(4));
  return key;
}

namespace {

// Reads the grant columns in kGrantColumns order, starting at column `first`.
Grant readGrantFrom(const Statement& row, int first) {
  Grant grant;
  grant.id = row.columnText(first);
  grant.client_id = row.columnText(first + 1);
  grant.subject = row.columnText(first + 2);
  grant.scope = row.columnText(first + 3);
  grant.created_at = fromUnixMillis(row.columnInt(first + 4));
  grant.expires_at = fromUnixMillis(row.columnInt(first + 5));
  grant.revoked_at = readOptionalTime(row, first + 6);
  return grant;
}

}  // namespace

StoreResult<Grant> readGrant(const Statement& row) { return readGrantFrom(row, 0); }

StoreResult<RefreshTokenRecord> readRefreshToken(const Statement& row) {
  RefreshTokenRecord record;
  if (!readArray32(row, 0, record.token.token_hash)) {
    return unexpected(corruptRow("refresh_tokens", "token_hash is not 32 bytes"));
  }
  record.token.grant_id = row.columnText(1);
  record.token.issued_at = fromUnixMillis(row.columnInt(2));
  record.token.expires_at = fromUnixMillis(row.columnInt(3));
  record.token.used_at = readOptionalTime(row, 4);
  record.grant = readGrantFrom(row, 5);
  return record;
}

}  // namespace devauth::sqlite

#include "store/postgres/pg_rows.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace devauth::postgres {
namespace {

StoreError corruptRow(std::string_view table, std::string_view problem) {
  return StoreError{StoreError::Kind::Internal,
                    fmt::format("PostgreSQL: a row of {} is invalid: {}", table, problem)};
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

// Reads the columns of one row, remembering the first column that failed to parse, so that a
// reader checks once at the end instead of after every column.
class RowReader {
 public:
  RowReader(const Result& result, int row) : result_(result), row_(row) {}

  std::string text(int column) const { return result_.text(row_, column); }
  std::optional<std::string> optionalText(int column) const {
    return result_.optionalText(row_, column);
  }

  long long integer(int column) {
    const auto value = result_.integer(row_, column);
    if (!value) {
      failed_ = true;
      return 0;
    }
    return *value;
  }

  TimePoint time(int column) { return fromUnixMillis(integer(column)); }

  std::optional<TimePoint> optionalTime(int column) {
    if (result_.isNull(row_, column)) {
      return std::nullopt;
    }
    return time(column);
  }

  std::optional<std::string> optionalBytes(int column) {
    if (result_.isNull(row_, column)) {
      return std::nullopt;
    }
    auto bytes = result_.bytes(row_, column);
    if (!bytes) {
      failed_ = true;
    }
    return bytes;
  }

  std::array<std::uint8_t, 32> array32(int column) {
    std::array<std::uint8_t, 32> out{};
    const auto bytes = result_.isNull(row_, column) ? std::nullopt : result_.bytes(row_, column);
    if (!bytes || bytes->size() != out.size()) {
      failed_ = true;
      return out;
    }
    std::copy(bytes->begin(), bytes->end(), out.begin());
    return out;
  }

  bool failed() const { return failed_; }

 private:
  const Result& result_;
  const int row_;
  bool failed_ = false;
};

}  // namespace

StoreResult<Client> readClient(const Result& result, int row) {
  RowReader read(result, row);
  Client client;
  client.id = read.text(0);
  client.name = read.text(1);
  const auto type = parseClientType(read.text(2));
  if (!type) {
    return unexpected(corruptRow("clients", "unknown client type"));
  }
  client.type = *type;
  if (!result.isNull(row, 3)) {
    client.secret_hash = read.array32(3);
  }
  client.allowed_scopes = splitList(read.text(4));
  client.default_scopes = splitList(read.text(5));
  client.device_grant = read.integer(6) != 0;
  client.may_approve = read.integer(7) != 0;
  client.access_token_ttl = seconds(read.integer(8));
  client.created_at = read.time(9);
  const auto format = parseAccessTokenFormat(read.text(10));
  if (!format) {
    return unexpected(corruptRow("clients", "unknown access token format"));
  }
  client.access_token_format = *format;
  client.refresh_grant = read.integer(11) != 0;
  client.may_introspect = read.integer(12) != 0;
  auto profile = parseUserCodeProfile(read.text(13));
  if (!profile) {
    return unexpected(corruptRow("clients", "invalid user_code_profile"));
  }
  client.code_settings.user_code_profile = *profile;
  if (!result.isNull(row, 14)) {
    client.code_settings.device_code_ttl = seconds(read.integer(14));
  }
  if (!result.isNull(row, 15)) {
    client.code_settings.poll_interval = seconds(read.integer(15));
  }
  client.accepts_relayed_tokens = read.integer(16) != 0;
  if (read.failed()) {
    return unexpected(corruptRow("clients", "a column has an unexpected value"));
  }
  return client;
}

StoreResult<User> readUser(const Result& result, int row) {
  RowReader read(result, row);
  User user;
  user.username = read.text(0);
  user.subject = read.text(1);
  user.password_hash = read.text(2);
  user.created_at = read.time(3);
  if (read.failed()) {
    return unexpected(corruptRow("users", "created_at is not an integer"));
  }
  return user;
}

StoreResult<Authorization> readAuthorization(const Result& result, int row) {
  RowReader read(result, row);
  Authorization authorization;
  authorization.id = read.text(0);
  authorization.device_code_hash = read.array32(1);
  authorization.user_code_hash = read.array32(2);
  authorization.client_id = read.text(3);
  authorization.scope = read.text(4);
  const auto state = parseAuthorizationState(read.text(5));
  if (!state) {
    return unexpected(corruptRow("authorizations", "unknown state"));
  }
  authorization.state = *state;
  authorization.created_at = read.time(6);
  authorization.expires_at = read.time(7);
  authorization.interval = seconds(read.integer(8));
  authorization.last_poll_at = read.optionalTime(9);
  authorization.subject = read.optionalText(10);
  authorization.decided_at = read.optionalTime(11);
  if (!result.isNull(row, 12)) {
    authorization.relay_public_key = read.array32(12);
  }
  authorization.sealed_relay_token = read.optionalBytes(13);
  authorization.bound_subject = read.optionalText(14);
  authorization.request_address = read.text(15);
  authorization.request_user_agent = read.text(16);
  if (read.failed()) {
    return unexpected(corruptRow("authorizations", "a hash, key or time has an unexpected value"));
  }
  return authorization;
}

StoreResult<IssuedToken> readToken(const Result& result, int row) {
  RowReader read(result, row);
  IssuedToken token;
  token.token_hash = read.array32(0);
  token.authorization_id = read.text(1);
  token.client_id = read.text(2);
  token.subject = read.text(3);
  token.scope = read.text(4);
  token.issued_at = read.time(5);
  token.expires_at = read.time(6);
  if (read.failed()) {
    return unexpected(corruptRow("tokens", "token_hash or a time has an unexpected value"));
  }
  return token;
}

StoreResult<BrowserSession> readSession(const Result& result, int row) {
  RowReader read(result, row);
  BrowserSession session;
  session.id_hash = read.array32(0);
  session.subject = read.optionalText(1);
  session.created_at = read.time(2);
  session.expires_at = read.time(3);
  if (read.failed()) {
    return unexpected(corruptRow("browser_sessions", "id_hash or a time has an unexpected value"));
  }
  return session;
}

StoreResult<SigningKeyRecord> readSigningKey(const Result& result, int row) {
  RowReader read(result, row);
  SigningKeyRecord key;
  key.kid = read.text(0);
  key.algorithm = read.text(1);
  key.public_jwk = read.text(2);
  key.encrypted_private_key = read.optionalBytes(3).value_or("");
  key.created_at = read.time(4);
  if (read.failed() || result.isNull(row, 3)) {
    return unexpected(corruptRow("signing_keys", "a key or time has an unexpected value"));
  }
  return key;
}

namespace {

// Reads the grant columns in kGrantColumns order, starting at column `first`.
Grant readGrantFrom(RowReader& read, int first) {
  Grant grant;
  grant.id = read.text(first);
  grant.client_id = read.text(first + 1);
  grant.subject = read.text(first + 2);
  grant.scope = read.text(first + 3);
  grant.created_at = read.time(first + 4);
  grant.expires_at = read.time(first + 5);
  grant.revoked_at = read.optionalTime(first + 6);
  return grant;
}

}  // namespace

StoreResult<Grant> readGrant(const Result& result, int row) {
  RowReader read(result, row);
  Grant grant = readGrantFrom(read, 0);
  if (read.failed()) {
    return unexpected(corruptRow("grants", "a time has an unexpected value"));
  }
  return grant;
}

StoreResult<RefreshTokenRecord> readRefreshToken(const Result& result, int row) {
  RowReader read(result, row);
  RefreshTokenRecord record;
  record.token.token_hash = read.array32(0);
  record.token.grant_id = read.text(1);
  record.token.issued_at = read.time(2);
  record.token.expires_at = read.time(3);
  record.token.used_at = read.optionalTime(4);
  record.grant = readGrantFrom(read, 5);
  if (read.failed()) {
    return unexpected(corruptRow("refresh_tokens", "token_hash or a time has an unexpected value"));
  }
  return record;
}

}  // namespace devauth::postgres

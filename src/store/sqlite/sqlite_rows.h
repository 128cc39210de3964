#pragma once

// The mapping between the core structs and SQLite rows: column lists, parameter conversions and
// row readers. Times are INTEGER Unix milliseconds, secrets 32-byte BLOBs, and scope lists
// space-separated TEXT.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/authorization.h"
#include "core/client.h"
#include "core/grant.h"
#include "store/sqlite/sqlite_handle.h"

namespace devauth::sqlite {

// Columns in the order the read functions below expect them.
inline constexpr std::string_view kClientColumns =
    "id, name, type, secret_hash, allowed_scopes, default_scopes, device_grant, may_approve, "
    "access_token_ttl_seconds, created_at, access_token_format, refresh_grant, may_introspect, "
    "user_code_profile, device_code_ttl_seconds, poll_interval_seconds, accepts_relayed_tokens";
inline constexpr std::string_view kAuthorizationColumns =
    "id, device_code_hash, user_code_hash, client_id, scope, state, created_at, expires_at, "
    "interval_seconds, last_poll_at, subject, decided_at, relay_public_key, sealed_relay_token, "
    "bound_subject, request_address, request_user_agent";
inline constexpr std::string_view kGrantColumns =
    "id, client_id, subject, scope, created_at, expires_at, revoked_at";
// A refresh token joined with its grant: FROM refresh_tokens r JOIN grants g.
inline constexpr std::string_view kRefreshTokenColumns =
    "r.token_hash, r.grant_id, r.issued_at, r.expires_at, r.used_at, g.id, g.client_id, "
    "g.subject, g.scope, g.created_at, g.expires_at, g.revoked_at";

inline constexpr std::string_view kSigningKeyColumns =
    "kid, algorithm, public_jwk, encrypted_private_key, created_at";

std::optional<long long> millisOrNull(const std::optional<TimePoint>& time);
// The bytes of `text` for a BLOB parameter, or nullopt for NULL.
std::optional<std::span<const std::uint8_t>> bytesOrNull(const std::optional<std::string>& text);

// Each reader converts the current row of a statement that selected the matching column list.
// A value that the schema's CHECK constraints should have kept out fails with Internal.
StoreResult<Client> readClient(const Statement& row);
// Columns: username, subject, password_hash, created_at.
StoreResult<User> readUser(const Statement& row);
StoreResult<Authorization> readAuthorization(const Statement& row);
// Columns: token_hash, authorization_id, client_id, subject, scope, issued_at, expires_at.
StoreResult<IssuedToken> readToken(const Statement& row);
// Columns: id_hash, subject, created_at, expires_at.
StoreResult<BrowserSession> readSession(const Statement& row);
// Columns: kSigningKeyColumns.
StoreResult<SigningKeyRecord> readSigningKey(const Statement& row);
StoreResult<Grant> readGrant(const Statement& row);
StoreResult<RefreshTokenRecord> readRefreshToken(const Statement& row);

}  // namespace devauth::sqlite

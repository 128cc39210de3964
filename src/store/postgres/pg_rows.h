#pragma once

// The mapping between the core structs and PostgreSQL rows: column lists and row readers.
// Times are bigint Unix milliseconds, secrets 32-byte bytea, and scope lists space-separated
// text, as in the SQLite backend.

#include <string_view>

#include "core/authorization.h"
#include "core/client.h"
#include "core/grant.h"
#include "store/postgres/pg_connection.h"

namespace devauth::postgres {

// Columns in the order the read functions below expect them.
inline constexpr std::string_view kClientColumns =
    "id, name, type, secret_hash, allowed_scopes, default_scopes, device_grant, may_approve, "
    "access_token_ttl_seconds, created_at, access_token_format, refresh_grant, may_introspect, "
    "user_code_profile, device_code_ttl_seconds, poll_interval_seconds, accepts_relayed_tokens";
inline constexpr std::string_view kUserColumns = "username, subject, password_hash, created_at";
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
inline constexpr std::string_view kTokenColumns =
    "token_hash, authorization_id, client_id, subject, scope, issued_at, expires_at";
inline constexpr std::string_view kSessionColumns = "id_hash, subject, created_at, expires_at";
inline constexpr std::string_view kSigningKeyColumns =
    "kid, algorithm, public_jwk, encrypted_private_key, created_at";

// Each reader converts row `row` of a result that selected the matching column list. A value
// that the schema's constraints should have kept out fails with Internal.
StoreResult<Client> readClient(const Result& result, int row);
StoreResult<User> readUser(const Result& result, int row);
StoreResult<Authorization> readAuthorization(const Result& result, int row);
StoreResult<IssuedToken> readToken(const Result& result, int row);
StoreResult<BrowserSession> readSession(const Result& result, int row);
StoreResult<SigningKeyRecord> readSigningKey(const Result& result, int row);
StoreResult<Grant> readGrant(const Result& result, int row);
StoreResult<RefreshTokenRecord> readRefreshToken(const Result& result, int row);

}  // namespace devauth::postgres

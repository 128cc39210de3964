#pragma once

// Registered clients, local user accounts and issued tokens.

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/secret.h"
#include "core/user_code_profile.h"

namespace devauth {

inline constexpr std::string_view kDeviceCodeGrantType =
    "urn:ietf:params:oauth:grant-type:device_code";

enum class ClientType { Public, Confidential };

std::string_view toString(ClientType type);
std::optional<ClientType> parseClientType(std::string_view text);

// The form of the access tokens minted for a client: an opaque random string (the default), or
// a signed JWT as RFC 9068 profiles it.
enum class AccessTokenFormat { Opaque, Jwt };

std::string_view toString(AccessTokenFormat format);
std::optional<AccessTokenFormat> parseAccessTokenFormat(std::string_view text);

// Per-client user code format, code lifetime and poll interval (RFC 8628 §3.2, §6.1).
struct ClientCodeSettings {
  UserCodeProfile user_code_profile;
  // expires_in of the client's codes; unset: the server's device.expires_in.
  std::optional<seconds> device_code_ttl;
  // interval of the client's codes; unset: the server's device.interval.
  std::optional<seconds> poll_interval;

  friend bool operator==(const ClientCodeSettings&, const ClientCodeSettings&) = default;
};

struct Client {
  std::string id;
  // Shown to the person on the consent page.
  std::string name;
  ClientType type = ClientType::Public;
  // Set for confidential clients only. The secret itself is printed once when it is created.
  std::optional<SecretHash> secret_hash;
  std::vector<std::string> allowed_scopes;
  // Granted when a device authorization request carries no scope (RFC 6749 §3.3). Every entry
  // is also in allowed_scopes. May be empty, which grants a token without scope.
  std::vector<std::string> default_scopes;
  // Whether the client may use the device grant (RFC 8628) at all.
  bool device_grant = true;
  // Whether the client is a trusted backend that may approve or deny codes through the
  // approval API. Only confidential clients may have it.
  bool may_approve = false;
  // Whether the client may use the refresh token grant (RFC 6749 §6). Its device code token
  // responses then carry a refresh token.
  bool refresh_grant = false;
  // Whether the client may call the introspection endpoint (RFC 7662 §2.1), as a resource
  // server does. Only confidential clients may have it.
  bool may_introspect = false;
  // Whether a trusted backend may relay its own access token to this client's devices through
  // the approval API. Only then does a device authorization of the client get a relay key,
  // whose X25519 derivation is most of the CPU cost of a device authorization request.
  bool accepts_relayed_tokens = false;
  // Access token lifetime for tokens minted for this client.
  seconds access_token_ttl{3600};
  AccessTokenFormat access_token_format = AccessTokenFormat::Opaque;
  ClientCodeSettings code_settings;
  TimePoint created_at{};
};

struct User {
  std::string username;
  // Stable identifier placed in tokens; not the username, which may change.
  std::string subject;
  // argon2id hash in libsodium's string form.
  std::string password_hash;
  TimePoint created_at{};
};

// An access token minted here; only its hash is stored.
struct IssuedToken {
  SecretHash token_hash{};
  std::string authorization_id;
  std::string client_id;
  std::string subject;
  std::string scope;
  TimePoint issued_at{};
  TimePoint expires_at{};
};

// A browser session on the verification pages. The CSRF token is derived from the session id
// (see web/), so only the hash of the id is stored.
struct BrowserSession {
  SecretHash id_hash{};
  // The signed-in user's subject, empty before sign-in.
  std::optional<std::string> subject;
  TimePoint created_at{};
  TimePoint expires_at{};
};

}  // namespace devauth

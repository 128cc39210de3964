#pragma once

// Browser sessions of the verification pages. The session id is a 256-bit random secret sent
// only in the devauth_session cookie; the store keeps its SHA-256 hash. The CSRF token of a form
// is derived from the session id, so it needs no storage and changes whenever the id changes.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/client.h"
#include "http/message.h"
#include "server/services.h"
#include "store/store.h"

namespace devauth::web {

inline constexpr std::string_view kSessionCookieName = "devauth_session";

// A loaded or new session. `id` is the cookie value: a secret that is never stored or logged.
struct WebSession {
  std::string id;
  BrowserSession record;

  bool signedIn() const { return record.subject.has_value(); }
};

// Returns every value of the cookie `name` in the request's Cookie headers (RFC 6265 §5.4), in
// order. Pairs are split on ';', surrounding spaces and tabs and one pair of double quotes are
// removed, and pairs without '=' are ignored.
std::vector<std::string> findCookieValues(const http::Request& request, std::string_view name);

// Loads the session named by the request's devauth_session cookie. Returns nullopt when the
// request has no such cookie or the session is unknown or expired.
StoreResult<std::optional<WebSession>> loadSession(Services& services,
                                                   const http::Request& request);

// Creates and stores a new session that expires after config.session_ttl, signed in as
// `subject` when it is set.
StoreResult<WebSession> createSession(Services& services,
                                      const std::optional<std::string>& subject = std::nullopt);

// Signs `session` in as `subject`. The id is rotated: a new signed-in session is stored and the
// old one removed, so an id planted in the browser before sign-in (session fixation) never
// becomes signed in.
StoreResult<WebSession> signIn(Services& services, const WebSession& session,
                               const std::string& subject);

// The Set-Cookie value for `session`: HttpOnly, SameSite=Lax, Path=/device, Max-Age of the
// session lifetime, and Secure when the issuer is an https URL.
std::string sessionCookie(const Config& config, const WebSession& session);

// Whether `issuer` is an https URL, so that cookies must carry the Secure attribute.
bool isHttpsIssuer(std::string_view issuer);

// The CSRF token of forms shown to `session`: base64url(SHA-256("devauth csrf v1:" + id)).
std::string csrfToken(const WebSession& session);

// Whether `submitted` is the CSRF token of `session`, compared in constant time.
bool checkCsrfToken(const WebSession& session, std::string_view submitted);

}  // namespace devauth::web

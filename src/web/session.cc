#include "web/session.h"

#include <algorithm>
#include <cctype>

#include "core/secret.h"

namespace devauth::web {
namespace {

// Domain separation, so the CSRF token differs from the stored SHA-256 of the session id.
constexpr std::string_view kCsrfDomain = "devauth csrf v1:";

// A browser may send several cookies of the same name, for other paths or from older sessions.
// Only this many are looked up, so a crafted header cannot cause many queries.
constexpr std::size_t kMaxSessionCandidates = 4;

std::string_view trimSpaces(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::string_view unquote(std::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

// A session id as generateSecret makes it: 43 base64url characters. Other values are not
// looked up.
bool looksLikeSessionId(std::string_view value) {
  const auto is_base64url = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  };
  return value.size() == 43 && std::all_of(value.begin(), value.end(), is_base64url);
}

void appendCookieValues(std::string_view header, std::string_view name,
                        std::vector<std::string>& values) {
  while (!header.empty()) {
    const auto end = std::min(header.find(';'), header.size());
    const std::string_view pair = header.substr(0, end);
    header.remove_prefix(std::min(end + 1, header.size()));

    const auto equals = pair.find('=');
    if (equals == std::string_view::npos) {
      continue;
    }
    if (trimSpaces(pair.substr(0, equals)) == name) {
      values.emplace_back(unquote(trimSpaces(pair.substr(equals + 1))));
    }
  }
}

}  // namespace

bool isHttpsIssuer(std::string_view issuer) {
  constexpr std::string_view kScheme = "https://";
  return issuer.size() >= kScheme.size() &&
         std::equal(kScheme.begin(), kScheme.end(), issuer.begin(), [](char a, char b) {
           return a == std::tolower(static_cast<unsigned char>(b));
         });
}

std::vector<std::string> findCookieValues(const http::Request& request, std::string_view name) {
  std::vector<std::string> values;
  const auto [first, last] = request.message.equal_range(http::beast_http::field::cookie);
  for (auto it = first; it != last; ++it) {
    appendCookieValues(it->value(), name, values);
  }
  return values;
}

StoreResult<std::optional<WebSession>> loadSession(Services& services,
                                                   const http::Request& request) {
  std::size_t lookups = 0;
  for (auto& id : findCookieValues(request, kSessionCookieName)) {
    if (!looksLikeSessionId(id)) {
      continue;
    }
    if (lookups++ == kMaxSessionCandidates) {
      break;
    }
    auto found = services.store.findSession(hashSecret(id));
    if (!found) {
      return unexpected(found.error());
    }
    if (found->has_value() && services.clock.now() < (*found)->expires_at) {
      return std::optional<WebSession>(WebSession{std::move(id), std::move(**found)});
    }
  }
  return std::optional<WebSession>();
}

StoreResult<WebSession> createSession(Services& services,
                                      const std::optional<std::string>& subject) {
  WebSession session;
  session.id = generateSecret(services.random);
  session.record.id_hash = hashSecret(session.id);
  session.record.subject = subject;
  session.record.created_at = services.clock.now();
  session.record.expires_at = session.record.created_at + services.config.session_ttl;

  auto inserted = services.store.insertSession(session.record);
  if (!inserted) {
    return unexpected(inserted.error());
  }
  return session;
}

StoreResult<WebSession> signIn(Services& services, const WebSession& session,
                               const std::string& subject) {
  auto rotated = createSession(services, subject);
  if (!rotated) {
    return rotated;
  }
  auto removed = services.store.removeSession(session.record.id_hash);
  if (!removed) {
    return unexpected(removed.error());
  }
  return rotated;
}

std::string sessionCookie(const Config& config, const WebSession& session) {
  std::string cookie = std::string(kSessionCookieName) + "=" + session.id +
                       "; Path=/device; Max-Age=" + std::to_string(config.session_ttl.count()) +
                       "; HttpOnly; SameSite=Lax";
  if (isHttpsIssuer(config.issuer)) {
    cookie += "; Secure";
  }
  return cookie;
}

std::string csrfToken(const WebSession& session) {
  const SecretHash digest = hashSecret(std::string(kCsrfDomain) + session.id);
  return base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool checkCsrfToken(const WebSession& session, std::string_view submitted) {
  // Hashing both sides gives equal-length digests, so the comparison time does not depend on
  // the submitted length or on where the values differ.
  return constantTimeEquals(hashSecret(csrfToken(session)), hashSecret(submitted));
}

}  // namespace devauth::web

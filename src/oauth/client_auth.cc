#include "oauth/client_auth.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <boost/beast/core/string.hpp>
#include <optional>
#include <string>
#include <vector>

#include "limits/abuse_limits.h"
#include "metrics/metrics.h"

namespace devauth::oauth {
namespace {

struct BasicCredentials {
  std::string client_id;
  std::string secret;
};

struct PresentedCredentials {
  std::string client_id;
  std::optional<std::string> secret;
  bool used_basic = false;
};

EndpointError invalidClient(bool used_basic) {
  return EndpointError{makeError(OAuthErrorCode::InvalidClient), used_basic};
}

// Decodes standard base64, with or without padding (RFC 7617 §2 uses RFC 4648 §4).
std::optional<std::string> decodeBase64(std::string_view encoded) {
  std::string decoded(encoded.size(), '\0');
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING}) {
    std::size_t length = 0;
    const char* end = nullptr;
    const int rc =
        sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(),
                          encoded.data(), encoded.size(), nullptr, &length, &end, variant);
    if (rc == 0 && end == encoded.data() + encoded.size()) {
      decoded.resize(length);
      return decoded;
    }
  }
  return std::nullopt;
}

// Parses `Basic base64(formenc(id) ":" formenc(secret))`. Returns nullopt for any other scheme
// or a malformed credential.
std::optional<BasicCredentials> parseBasic(std::string_view header) {
  constexpr std::string_view kScheme = "basic ";
  if (header.size() <= kScheme.size() ||
      !boost::beast::iequals(header.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view token = header.substr(kScheme.size());
  const std::size_t first = token.find_first_not_of(' ');
  const std::size_t last = token.find_last_not_of(' ');
  if (first == std::string_view::npos) {
    return std::nullopt;
  }
  token = token.substr(first, last - first + 1);

  const auto decoded = decodeBase64(token);
  if (!decoded) {
    return std::nullopt;
  }
  const std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  auto client_id = http::formDecode(std::string_view(*decoded).substr(0, colon));
  auto secret = http::formDecode(std::string_view(*decoded).substr(colon + 1));
  if (!client_id || !secret || client_id->empty()) {
    return std::nullopt;
  }
  return BasicCredentials{std::move(*client_id), std::move(*secret)};
}

// Collects the credentials the request presents, enforcing one method per request.
EndpointResult<PresentedCredentials> presentedCredentials(const http::Request& request,
                                                          const http::FormParams& form) {
  const auto body_id = form.get("client_id");
  const auto body_secret = form.get("client_secret");
  const auto authorization = request.message[http::beast_http::field::authorization];

  if (authorization.empty()) {
    if (!body_id) {
      return fail(OAuthErrorCode::InvalidRequest,
                  "Missing client_id: identify the client with client_id or HTTP Basic.");
    }
    return PresentedCredentials{*body_id, body_secret, false};
  }

  auto basic = parseBasic(authorization);
  if (!basic) {
    return unexpected(invalidClient(true));
  }
  // RFC 6749 §2.3: a client must not use more than one authentication method per request.
  if (body_secret) {
    return fail(OAuthErrorCode::InvalidRequest,
                "Use one client authentication method: HTTP Basic or client_secret, not both.");
  }
  if (body_id && *body_id != basic->client_id) {
    return unexpected(invalidClient(true));
  }
  std::optional<std::string> secret;
  if (!basic->secret.empty()) {
    secret = std::move(basic->secret);
  }
  return PresentedCredentials{std::move(basic->client_id), std::move(secret), true};
}

bool secretMatches(const Client& client, const std::optional<std::string>& secret) {
  if (client.type == ClientType::Public) {
    return !secret.has_value();
  }
  if (!secret || !client.secret_hash) {
    return false;
  }
  return constantTimeEquals(hashSecret(*secret), *client.secret_hash);
}

// Counts a failed authentication against the client's and the address's budgets and logs it.
// Only registered ids reach the log, so a client cannot write arbitrary text into it.
EndpointError failAuthentication(Services& services, const http::Request& request,
                                 const std::vector<limits::Counter>& counters,
                                 const std::string& known_client_id, bool used_basic) {
  metrics::recordGuess(metrics::Guess::ClientAuth);
  spdlog::warn("event=client_authentication_failed client_id={} request_id={}",
               known_client_id.empty() ? "-" : known_client_id, request.request_id);
  auto counted = limits::countFailure(services.store, counters, services.clock.now());
  if (!counted) {
    return storeFailure(request, "count_failure", counted.error());
  }
  return invalidClient(used_basic);
}

}  // namespace

EndpointResult<AuthenticatedClient> authenticateClient(Services& services,
                                                       const http::Request& request,
                                                       const http::FormParams& form) {
  auto presented = presentedCredentials(request, form);
  if (!presented) {
    return unexpected(presented.error());
  }

  auto found = services.store.findClient(presented->client_id);
  if (!found) {
    return unexpected(storeFailure(request, "find_client", found.error()));
  }
  // A registered public client that presents no secret has no secret to guess, so the failure
  // counters, which guard secret comparisons (RFC 6749 §2.3.1), are not read for it. This skips
  // two store reads on every poll of a public client.
  if (found->has_value() && (*found)->type == ClientType::Public && !presented->secret) {
    return AuthenticatedClient{std::move(**found), presented->used_basic};
  }
  const std::string known_client_id = found->has_value() ? (*found)->id : std::string();
  const auto counters = limits::clientAuthFailureCounters(
      services.config.limits, known_client_id,
      limits::sourceAddress(request, services.config.trust_forwarded_for));
  auto wait = limits::exceededWait(services.store, counters, services.clock.now());
  if (!wait) {
    return unexpected(storeFailure(request, "read_counter", wait.error()));
  }
  if (*wait) {
    metrics::recordBlock(metrics::Limit::ClientAuth);
    spdlog::warn("event=client_authentication_throttled client_id={} request_id={}",
                 known_client_id.empty() ? "-" : known_client_id, request.request_id);
    return rateLimited(**wait);
  }

  if (!found->has_value() || !secretMatches(**found, presented->secret)) {
    return unexpected(
        failAuthentication(services, request, counters, known_client_id, presented->used_basic));
  }
  return AuthenticatedClient{std::move(**found), presented->used_basic};
}

}  // namespace devauth::oauth

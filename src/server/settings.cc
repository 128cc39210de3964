#include "server/settings.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>
#include <sstream>

#include "jose/jws.h"
#include "web/assets.h"

namespace devauth {
namespace {

// --- Value accessors ---------------------------------------------------------------------

std::int64_t integerOf(const SettingValue& value) { return std::get<std::int64_t>(value); }
const std::string& textOf(const SettingValue& value) { return std::get<std::string>(value); }
bool booleanOf(const SettingValue& value) { return std::get<bool>(value); }
const std::vector<std::string>& listOf(const SettingValue& value) {
  return std::get<std::vector<std::string>>(value);
}

SettingValue integer(std::int64_t value) { return value; }
SettingValue text(std::string value) { return value; }

// --- Checks ------------------------------------------------------------------------------

std::optional<std::string> checkLogLevel(const SettingValue& value) {
  static constexpr std::array<std::string_view, 7> kLevels = {"trace", "debug",    "info", "warn",
                                                              "error", "critical", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), textOf(value)) == kLevels.end()) {
    return "expected trace, debug, info, warn, error, critical or off";
  }
  return std::nullopt;
}

std::optional<std::string> checkLogFormat(const SettingValue& value) {
  if (textOf(value) != "text" && textOf(value) != "json") {
    return "expected text or json";
  }
  return std::nullopt;
}

std::optional<std::string> checkNotEmpty(const SettingValue& value) {
  if (textOf(value).empty()) {
    return "must not be empty";
  }
  return std::nullopt;
}

// RFC 8414 §2: the issuer is an https URL (http is accepted for local use) without query or
// fragment.
std::optional<std::string> checkIssuer(const SettingValue& value) {
  if (textOf(value).empty()) {
    return std::nullopt;
  }
  auto url = boost::urls::parse_absolute_uri(textOf(value));
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || !url->has_authority() ||
      url->has_query() || url->has_fragment()) {
    return "expected an http or https URL without query or fragment, such as "
           "https://auth.example.com";
  }
  return std::nullopt;
}

std::optional<std::string> checkMetricsListen(const SettingValue& value) {
  const std::string& listen = textOf(value);
  if (listen.empty() || listen == "off") {
    return std::nullopt;
  }
  const auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos && colon > 0) {
    const char* begin = listen.data() + colon + 1;
    const char* end = listen.data() + listen.size();
    const auto [last, error] = std::from_chars(begin, end, port);
    if (error != std::errc() || last != end || begin == end) {
      port = -1;
    }
  }
  if (port < 0 || port > 65535) {
    return "expected HOST:PORT (IPv6 as [ADDRESS]:PORT), empty, or off";
  }
  return std::nullopt;
}

std::optional<std::string> checkColor(const SettingValue& value) {
  if (!textOf(value).empty() && !web::isHexColor(textOf(value))) {
    return "expected a colour as #rrggbb, for example #0b57d0";
  }
  return std::nullopt;
}

std::optional<std::string> checkSigningAlgorithm(const SettingValue& value) {
  if (!jose::parseSigningAlgorithm(textOf(value))) {
    return "expected ES256 or EdDSA";
  }
  return std::nullopt;
}

std::optional<std::string> checkScopes(const SettingValue& value) {
  for (const auto& scope : listOf(value)) {
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    const bool valid = !scope.empty() && std::all_of(scope.begin(), scope.end(), [](char c) {
      return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
    });
    if (!valid) {
      return fmt::format("\"{}\" is not a valid scope (RFC 6749 §3.3)", scope);
    }
  }
  return std::nullopt;
}

// --- The table -------------------------------------------------------------------------

// A rate limit of AbuseLimits, counted per 60-second window: its max_count.
template <RateLimit AbuseLimits::*Member>
Setting rateLimitSetting(std::string_view key, std::string_view env, std::string_view flag,
                         std::string_view help) {
  return Setting{
      .key = key,
      .env = env,
      .flag = flag,
      .unit = "per minute",
      .type = SettingType::Integer,
      .min = 0,
      .max = 1'000'000'000,
      .reloadable = true,
      .help = help,
      .set = [](Config& c, const SettingValue& v) { (c.limits.*Member).max_count = integerOf(v); },
      .get = [](const Config& c) { return integer((c.limits.*Member).max_count); },
  };
}

std::vector<Setting> makeSettings() {
  return {
      Setting{
          .key = "listen.address",
          .env = "DEVAUTH_LISTEN_ADDRESS",
          .flag = "--listen",
          .type = SettingType::Text,
          .help = "IP address to listen on",
          .check = checkNotEmpty,
          .set = [](Config& c, const SettingValue& v) { c.http.address = textOf(v); },
          .get = [](const Config& c) { return text(c.http.address); },
      },
      Setting{
          .key = "listen.port",
          .env = "DEVAUTH_LISTEN_PORT",
          .flag = "--port",
          .type = SettingType::Integer,
          .min = 0,
          .max = 65535,
          .help = "TCP port to listen on; 0 picks a free port",
          .set =
              [](Config& c, const SettingValue& v) {
                c.http.port = static_cast<std::uint16_t>(integerOf(v));
              },
          .get = [](const Config& c) { return integer(c.http.port); },
      },
      Setting{
          .key = "listen.threads",
          .env = "DEVAUTH_LISTEN_THREADS",
          .flag = "--threads",
          .unit = "threads",
          .type = SettingType::Integer,
          .min = 0,
          .max = 256,
          .help = "Number of HTTP I/O threads; 0 uses one per CPU core",
          .set =
              [](Config& c, const SettingValue& v) {
                c.http.io_threads = static_cast<unsigned>(integerOf(v));
              },
          .get = [](const Config& c) { return integer(c.http.io_threads); },
      },
      Setting{
          .key = "listen.handler_threads",
          .env = "DEVAUTH_LISTEN_HANDLER_THREADS",
          .flag = "--handler-threads",
          .unit = "threads",
          .type = SettingType::Integer,
          .min = 0,
          .max = 1024,
          .help = "Threads that run request handlers apart from the I/O threads; 0 uses two per "
                  "core",
          .set =
              [](Config& c, const SettingValue& v) {
                c.http.handler_threads = static_cast<unsigned>(integerOf(v));
              },
          .get = [](const Config& c) { return integer(c.http.handler_threads); },
      },
      Setting{
          .key = "server.issuer",
          .env = "DEVAUTH_SERVER_ISSUER",
          .flag = "--issuer",
          .type = SettingType::Text,
          .help = "Base URL that devices and browsers use to reach this server, for example "
                  "https://auth.example.com; when unset, http://LISTEN:PORT",
          .check = checkIssuer,
          .set = [](Config& c, const SettingValue& v) { c.issuer = textOf(v); },
          .get = [](const Config& c) { return text(c.issuer); },
      },
      Setting{
          .key = "server.store",
          .env = "DEVAUTH_SERVER_STORE",
          .flag = "--store",
          .type = SettingType::Text,
          .help = "Store location: a SQLite file path, or postgresql://USER@HOST/DATABASE",
          .check = checkNotEmpty,
          .set = [](Config& c, const SettingValue& v) { c.store = textOf(v); },
          .get = [](const Config& c) { return text(c.store); },
      },
      Setting{
          .key = "server.store_cache",
          .env = "DEVAUTH_SERVER_STORE_CACHE",
          .flag = "--store-cache",
          .unit = "MiB",
          .type = SettingType::Integer,
          .min = 1,
          .max = 65536,
          .help = "SQLite page cache of each store connection, which grows only with the pages "
                  "read (PostgreSQL ignores it)",
          .set = [](Config& c, const SettingValue& v) { c.store_cache_mib = integerOf(v); },
          .get = [](const Config& c) { return integer(c.store_cache_mib); },
      },
      Setting{
          .key = "device.expires_in",
          .env = "DEVAUTH_DEVICE_EXPIRES_IN",
          .flag = "--expires-in",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 10,
          .max = 86400,
          .reloadable = true,
          .help = "Lifetime of device and user codes (RFC 8628 expires_in)",
          .set = [](Config& c,
                    const SettingValue& v) { c.device_code_ttl = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.device_code_ttl.count()); },
      },
      Setting{
          .key = "device.interval",
          .env = "DEVAUTH_DEVICE_INTERVAL",
          .flag = "--interval",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 1,
          .max = 3600,
          .reloadable = true,
          .help = "Minimum time between polls that devices are told to keep (RFC 8628 interval)",
          .set = [](Config& c, const SettingValue& v) { c.poll_interval = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.poll_interval.count()); },
      },
      Setting{
          .key = "poll.slow_down_step",
          .env = "DEVAUTH_POLL_SLOW_DOWN_STEP",
          .flag = "--slow-down-step",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 5,
          .max = 3600,
          .reloadable = true,
          .help = "Increase of a device's interval at each slow_down (RFC 8628 §3.5: 5)",
          .set =
              [](Config& c, const SettingValue& v) {
                c.poll_policy.slow_down_step = seconds(integerOf(v));
              },
          .get = [](const Config& c) { return integer(c.poll_policy.slow_down_step.count()); },
      },
      Setting{
          .key = "poll.tolerance_ms",
          .env = "DEVAUTH_POLL_TOLERANCE_MS",
          .flag = "--poll-tolerance-ms",
          .unit = "milliseconds",
          .type = SettingType::Integer,
          .min = 0,
          .max = 60'000,
          .reloadable = true,
          .help = "How much earlier than the interval a poll may come and still be accepted, "
                  "for network jitter",
          .set =
              [](Config& c, const SettingValue& v) {
                c.poll_policy.tolerance = milliseconds(integerOf(v));
              },
          .get = [](const Config& c) { return integer(c.poll_policy.tolerance.count()); },
      },
      Setting{
          .key = "poll.max_interval",
          .env = "DEVAUTH_POLL_MAX_INTERVAL",
          .flag = "--max-interval",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 1,
          .max = 86400,
          .reloadable = true,
          .help = "Interval beyond which slow_down stops raising a device's interval",
          .set = [](Config& c,
                    const SettingValue& v) { c.poll_policy.max_interval = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.poll_policy.max_interval.count()); },
      },
      Setting{
          .key = "poll.max_wait",
          .env = "DEVAUTH_POLL_MAX_WAIT",
          .flag = "--max-poll-wait",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 0,
          .max = 300,
          .reloadable = true,
          .help = "Longest time a device token poll with Prefer: wait is held until the "
                  "authorization is decided; 0 answers every poll at once",
          .set = [](Config& c, const SettingValue& v) { c.max_poll_wait = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.max_poll_wait.count()); },
      },
      Setting{
          .key = "poll.max_held_per_client",
          .env = "DEVAUTH_POLL_MAX_HELD_PER_CLIENT",
          .flag = "--max-held-polls-per-client",
          .unit = "requests",
          .type = SettingType::Integer,
          .min = 0,
          .max = 1'000'000,
          .reloadable = true,
          .help = "Device token polls of one client held at once; polls beyond it get a response "
                  "at once",
          .set =
              [](Config& c, const SettingValue& v) {
                c.max_held_polls_per_client = static_cast<std::size_t>(integerOf(v));
              },
          .get =
              [](const Config& c) {
                return integer(static_cast<std::int64_t>(c.max_held_polls_per_client));
              },
      },
      Setting{
          .key = "poll.max_held",
          .env = "DEVAUTH_POLL_MAX_HELD",
          .flag = "--max-held-polls",
          .unit = "requests",
          .type = SettingType::Integer,
          .min = 0,
          .max = 1'000'000,
          .reloadable = true,
          .help = "Device token polls held at once by this process; polls beyond it get a response "
                  "at once",
          .set =
              [](Config& c, const SettingValue& v) {
                c.max_held_polls = static_cast<std::size_t>(integerOf(v));
              },
          .get =
              [](const Config& c) { return integer(static_cast<std::int64_t>(c.max_held_polls)); },
      },
      Setting{
          .key = "purge.period",
          .env = "DEVAUTH_PURGE_PERIOD",
          .flag = "--purge-period",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 1,
          .max = 86400,
          .reloadable = true,
          .help = "Time between purges of expired codes, sessions, tokens and counters",
          .set = [](Config& c, const SettingValue& v) { c.purge_period = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.purge_period.count()); },
      },
      Setting{
          .key = "purge.grace",
          .env = "DEVAUTH_PURGE_GRACE",
          .flag = "--purge-grace",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 0,
          .max = 30L * 86400,
          .reloadable = true,
          .help = "Time an expired authorization is kept, so that its polls still get "
                  "expired_token, before the purge deletes it",
          .set = [](Config& c, const SettingValue& v) { c.purge_grace = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.purge_grace.count()); },
      },
      Setting{
          .key = "session.ttl",
          .env = "DEVAUTH_SESSION_TTL",
          .flag = "--session-ttl",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 60,
          .max = 86400,
          .reloadable = true,
          .help = "Lifetime of a browser session on the verification pages",
          .set = [](Config& c, const SettingValue& v) { c.session_ttl = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.session_ttl.count()); },
      },
      rateLimitSetting<&AbuseLimits::user_code_failures_per_address>(
          "limits.user_code_failures_per_address", "DEVAUTH_LIMITS_USER_CODE_FAILURES_PER_ADDRESS",
          "--user-code-failures-per-address",
          "Wrong user codes accepted per source address (RFC 8628 §5.1); "
          "0 turns the limit off"),
      rateLimitSetting<&AbuseLimits::user_code_failures_per_session>(
          "limits.user_code_failures_per_session", "DEVAUTH_LIMITS_USER_CODE_FAILURES_PER_SESSION",
          "--user-code-failures-per-session",
          "Wrong user codes accepted per browser session or approving "
          "client; 0 turns the limit off"),
      rateLimitSetting<&AbuseLimits::user_code_failures_total>(
          "limits.user_code_failures_total", "DEVAUTH_LIMITS_USER_CODE_FAILURES_TOTAL",
          "--user-code-failures-total",
          "Wrong user codes accepted from all sources together; 0 turns "
          "the limit off"),
      rateLimitSetting<&AbuseLimits::device_requests_per_client>(
          "limits.device_requests_per_client", "DEVAUTH_LIMITS_DEVICE_REQUESTS_PER_CLIENT",
          "--device-requests-per-client",
          "Device authorization requests accepted per client; 0 turns "
          "the limit off"),
      rateLimitSetting<&AbuseLimits::device_requests_per_address>(
          "limits.device_requests_per_address", "DEVAUTH_LIMITS_DEVICE_REQUESTS_PER_ADDRESS",
          "--device-requests-per-address",
          "Device authorization requests accepted per source address; 0 "
          "turns the limit off"),
      Setting{
          .key = "limits.max_live_authorizations",
          .env = "DEVAUTH_LIMITS_MAX_LIVE_AUTHORIZATIONS",
          .flag = "--max-live-authorizations",
          .unit = "authorizations",
          .type = SettingType::Integer,
          .min = 0,
          .max = 1'000'000'000,
          .reloadable = true,
          .help = "Pending, unexpired device authorizations allowed per client; 0 turns the cap "
                  "off",
          .set =
              [](Config& c, const SettingValue& v) {
                c.limits.max_live_authorizations_per_client = integerOf(v);
              },
          .get =
              [](const Config& c) { return integer(c.limits.max_live_authorizations_per_client); },
      },
      rateLimitSetting<&AbuseLimits::client_auth_failures_per_client>(
          "limits.client_auth_failures_per_client",
          "DEVAUTH_LIMITS_CLIENT_AUTH_FAILURES_PER_CLIENT", "--client-auth-failures-per-client",
          "Failed client authentications accepted per client; 0 turns the "
          "limit off"),
      rateLimitSetting<&AbuseLimits::client_auth_failures_per_address>(
          "limits.client_auth_failures_per_address",
          "DEVAUTH_LIMITS_CLIENT_AUTH_FAILURES_PER_ADDRESS", "--client-auth-failures-per-address",
          "Failed client authentications accepted per source address; 0 "
          "turns the limit off"),
      rateLimitSetting<&AbuseLimits::introspection_requests_per_client>(
          "limits.introspection_requests_per_client",
          "DEVAUTH_LIMITS_INTROSPECTION_REQUESTS_PER_CLIENT", "--introspection-requests-per-client",
          "Introspection requests accepted per calling client; 0 turns the limit off"),
      rateLimitSetting<&AbuseLimits::revocation_requests_per_client>(
          "limits.revocation_requests_per_client", "DEVAUTH_LIMITS_REVOCATION_REQUESTS_PER_CLIENT",
          "--revocation-requests-per-client",
          "Revocation requests accepted per client; 0 turns the limit off"),
      rateLimitSetting<&AbuseLimits::revocation_requests_per_address>(
          "limits.revocation_requests_per_address",
          "DEVAUTH_LIMITS_REVOCATION_REQUESTS_PER_ADDRESS", "--revocation-requests-per-address",
          "Revocation requests accepted per source address; 0 turns the limit off"),
      Setting{
          .key = "proxy.trust_forwarded_for",
          .env = "DEVAUTH_PROXY_TRUST_FORWARDED_FOR",
          .flag = "--trust-forwarded-for",
          .type = SettingType::Boolean,
          .help = "Count limits by, and show on the consent page, the last X-Forwarded-For "
                  "address; only behind a reverse proxy that appends it",
          .set = [](Config& c, const SettingValue& v) { c.trust_forwarded_for = booleanOf(v); },
          .get = [](const Config& c) -> SettingValue { return c.trust_forwarded_for; },
      },
      Setting{
          .key = "metadata.scopes_supported",
          .env = "DEVAUTH_METADATA_SCOPES_SUPPORTED",
          .flag = "--scopes-supported",
          .type = SettingType::TextList,
          .help = "Scopes listed in the metadata (RFC 8414 scopes_supported; default: every "
                  "registered client's scopes)",
          .check = checkScopes,
          .set = [](Config& c, const SettingValue& v) { c.scopes_supported = listOf(v); },
          .get = [](const Config& c) -> SettingValue { return c.scopes_supported; },
      },
      Setting{
          .key = "signing.algorithm",
          .env = "DEVAUTH_SIGNING_ALGORITHM",
          .flag = "--signing-algorithm",
          .type = SettingType::Text,
          .help = "Algorithm of new signing keys: ES256 (P-256) or EdDSA (Ed25519)",
          .check = checkSigningAlgorithm,
          .set =
              [](Config& c, const SettingValue& v) {
                c.signing.algorithm =
                    jose::parseSigningAlgorithm(textOf(v)).value_or(jose::SigningAlgorithm::Es256);
              },
          .get =
              [](const Config& c) {
                return text(std::string(jose::toString(c.signing.algorithm)));
              },
      },
      Setting{
          .key = "signing.key_rotation",
          .env = "DEVAUTH_SIGNING_KEY_ROTATION",
          .flag = "--signing-key-rotation",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 60,
          .max = 10L * 365 * 86400,
          .help = "Age at which the signing key is replaced by a new one",
          .set = [](Config& c,
                    const SettingValue& v) { c.signing.rotation_age = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.signing.rotation_age.count()); },
      },
      Setting{
          .key = "signing.key_overlap",
          .env = "DEVAUTH_SIGNING_KEY_OVERLAP",
          .flag = "--signing-key-overlap",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 0,
          .max = 365L * 86400,
          .help = "Time a replaced key stays published in the JWKS; longer than the longest token "
                  "lifetime plus 300 seconds of JWKS caching",
          .set = [](Config& c,
                    const SettingValue& v) { c.signing.overlap = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.signing.overlap.count()); },
      },
      Setting{
          .key = "signing.key_encryption_key_file",
          .env = "DEVAUTH_SIGNING_KEY_ENCRYPTION_KEY_FILE",
          .flag = "--key-encryption-key-file",
          .type = SettingType::Text,
          .help = "File with the key that encrypts private signing keys in the store, created with "
                  "mode 0600 if missing; when empty, DEVAUTH_KEY_ENCRYPTION_KEY, else "
                  "<database>.kek for SQLite (required for PostgreSQL)",
          .set = [](Config& c,
                    const SettingValue& v) { c.signing.key_encryption_key_file = textOf(v); },
          .get = [](const Config& c) { return text(c.signing.key_encryption_key_file); },
      },
      Setting{
          .key = "tokens.access_token_audience",
          .env = "DEVAUTH_TOKENS_ACCESS_TOKEN_AUDIENCE",
          .flag = "--access-token-audience",
          .type = SettingType::Text,
          .help = "aud claim of JWT access tokens (RFC 9068): the resource server's identifier; "
                  "when empty, the issuer",
          .set = [](Config& c, const SettingValue& v) { c.access_token_audience = textOf(v); },
          .get = [](const Config& c) { return text(c.access_token_audience); },
      },
      Setting{
          .key = "branding.product_name",
          .env = "DEVAUTH_BRANDING_PRODUCT_NAME",
          .flag = "--brand-name",
          .type = SettingType::Text,
          .help = "Product name in the header and title of the pages; when empty, Device sign-in "
                  "(translated)",
          .set = [](Config& c, const SettingValue& v) { c.branding.product_name = textOf(v); },
          .get = [](const Config& c) { return text(c.branding.product_name); },
      },
      Setting{
          .key = "branding.accent_color",
          .env = "DEVAUTH_BRANDING_ACCENT_COLOR",
          .flag = "--brand-color",
          .type = SettingType::Text,
          .help = "Accent colour of the pages' buttons as #rrggbb; the button text is black or "
                  "white, whichever contrasts more. When empty, the built-in blue",
          .check = checkColor,
          .set = [](Config& c, const SettingValue& v) { c.branding.accent_color = textOf(v); },
          .get = [](const Config& c) { return text(c.branding.accent_color); },
      },
      Setting{
          .key = "branding.logo_file",
          .env = "DEVAUTH_BRANDING_LOGO_FILE",
          .flag = "--brand-logo",
          .type = SettingType::Text,
          .help = "SVG file shown next to the product name, served at /assets/logo.svg; read at "
                  "start",
          .set = [](Config& c, const SettingValue& v) { c.branding.logo_file = textOf(v); },
          .get = [](const Config& c) { return text(c.branding.logo_file); },
      },
      Setting{
          .key = "display.client",
          .env = "DEVAUTH_DISPLAY_CLIENT",
          .flag = "--display-client",
          .type = SettingType::Text,
          .help = "Public client for which GET /device/display starts sign-ins as a TV or kiosk "
                  "would; off when empty (with --demo: tv-demo)",
          .set = [](Config& c, const SettingValue& v) { c.display_client = textOf(v); },
          .get = [](const Config& c) { return text(c.display_client); },
      },
      Setting{
          .key = "tokens.refresh_token_idle_ttl",
          .env = "DEVAUTH_TOKENS_REFRESH_TOKEN_IDLE_TTL",
          .flag = "--refresh-token-idle-ttl",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 1,
          .max = 10L * 365 * 86400,
          .help = "Time a refresh token stays usable without being used",
          .set = [](Config& c,
                    const SettingValue& v) { c.refresh_token_idle_ttl = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.refresh_token_idle_ttl.count()); },
      },
      Setting{
          .key = "tokens.refresh_token_max_ttl",
          .env = "DEVAUTH_TOKENS_REFRESH_TOKEN_MAX_TTL",
          .flag = "--refresh-token-max-ttl",
          .unit = "seconds",
          .type = SettingType::Integer,
          .min = 1,
          .max = 10L * 365 * 86400,
          .help = "Absolute lifetime of a grant's refresh tokens, counted from the approval",
          .set = [](Config& c,
                    const SettingValue& v) { c.refresh_token_max_ttl = seconds(integerOf(v)); },
          .get = [](const Config& c) { return integer(c.refresh_token_max_ttl.count()); },
      },
      Setting{
          .key = "log.level",
          .env = "DEVAUTH_LOG_LEVEL",
          .flag = "--log-level",
          .type = SettingType::Text,
          .reloadable = true,
          .help = "Minimum level of the log lines written to stderr: trace, debug, info, warn, "
                  "error, critical or off",
          .check = checkLogLevel,
          .set = [](Config& c, const SettingValue& v) { c.log_level = textOf(v); },
          .get = [](const Config& c) { return text(c.log_level); },
      },
      Setting{
          .key = "log.format",
          .env = "DEVAUTH_LOG_FORMAT",
          .flag = "--log-format",
          .type = SettingType::Text,
          .reloadable = true,
          .help = "Format of the log lines: text (key=value) or json (one object per line)",
          .check = checkLogFormat,
          .set = [](Config& c, const SettingValue& v) { c.log_format = textOf(v); },
          .get = [](const Config& c) { return text(c.log_format); },
      },
      Setting{
          .key = "metrics.listen",
          .env = "DEVAUTH_METRICS_LISTEN",
          .flag = "--metrics-listen",
          .type = SettingType::Text,
          .help = "Where GET /metrics is served: empty on the main listener, HOST:PORT on a "
                  "listener of its own, or off",
          .check = checkMetricsListen,
          .set = [](Config& c, const SettingValue& v) { c.metrics_listen = textOf(v); },
          .get = [](const Config& c) { return text(c.metrics_listen); },
      },
  };
}

// --- Parsing -----------------------------------------------------------------------------

std::string_view typeName(SettingType type) {
  switch (type) {
    case SettingType::Text:
      return "a string";
    case SettingType::Integer:
      return "an integer";
    case SettingType::Boolean:
      return "a boolean";
    case SettingType::TextList:
      return "an array of strings";
  }
  return "a value";
}

Expected<SettingValue, std::string> fromToml(const Setting& setting, const toml::node& node) {
  const auto wrong_type = [&] {
    return unexpected(fmt::format("expected {}", typeName(setting.type)));
  };
  switch (setting.type) {
    case SettingType::Text:
      if (const auto value = node.value_exact<std::string>()) {
        return SettingValue(*value);
      }
      return wrong_type();
    case SettingType::Integer:
      if (const auto value = node.value_exact<std::int64_t>()) {
        return SettingValue(*value);
      }
      return wrong_type();
    case SettingType::Boolean:
      if (const auto value = node.value_exact<bool>()) {
        return SettingValue(*value);
      }
      return wrong_type();
    case SettingType::TextList: {
      const toml::array* array = node.as_array();
      if (array == nullptr) {
        return wrong_type();
      }
      std::vector<std::string> items;
      for (const auto& item : *array) {
        const auto value = item.value_exact<std::string>();
        if (!value) {
          return wrong_type();
        }
        items.push_back(*value);
      }
      return SettingValue(std::move(items));
    }
  }
  return wrong_type();
}

// The Levenshtein distance, for "did you mean" on unknown keys.
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknownKeyMessage(std::string_view key) {
  const Setting* closest = nullptr;
  std::size_t best = 4;  // suggest only keys within three edits
  for (const auto& setting : settings()) {
    const std::size_t distance = editDistance(key, setting.key);
    if (distance < best) {
      best = distance;
      closest = &setting;
    }
  }
  if (closest == nullptr) {
    return fmt::format("unknown key \"{}\"", key);
  }
  return fmt::format("unknown key \"{}\"; did you mean \"{}\"?", key, closest->key);
}

std::string where(const std::string& path, const toml::source_region& source) {
  return fmt::format("{}:{}:{}", path, source.begin.line, source.begin.column);
}

// Reads every key of the file into `values`, or returns the first problem.
Expected<void, std::string> readFile(const std::string& path,
                                     std::map<std::string, SettingValue, std::less<>>& values) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    return unexpected(fmt::format("{}: {}", where(path, error.source()), error.description()));
  }

  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [name, node] : root) {
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      entries.emplace_back(std::string(name.str()), &node);
      continue;
    }
    for (const auto& [inner_name, inner_node] : *table) {
      entries.emplace_back(fmt::format("{}.{}", name.str(), inner_name.str()), &inner_node);
    }
  }

  for (const auto& [key, node] : entries) {
    const Setting* setting = findSetting(key);
    if (setting == nullptr) {
      return unexpected(fmt::format("{}: {}", where(path, node->source()), unknownKeyMessage(key)));
    }
    auto value = fromToml(*setting, *node);
    if (value) {
      if (auto problem = validateSetting(*setting, *value)) {
        value = unexpected(*problem);
      }
    }
    if (!value) {
      std::ostringstream shown;
      node->visit([&shown](const auto& typed) { shown << typed; });
      return unexpected(fmt::format("{}: {} = {}: {}", where(path, node->source()), key,
                                    shown.str(), value.error()));
    }
    values[key] = std::move(value).value();
  }
  return {};
}

std::string defaultIssuer(const Config& config) {
  // An IPv6 literal needs brackets in a URL (RFC 3986 §3.2.2).
  const std::string& address = config.http.address;
  const bool ipv6 = address.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + address + "]" : address;
  return fmt::format("http://{}:{}", host, config.http.port);
}

bool equalValues(const Setting& setting, const Config& a, const Config& b) {
  return setting.get(a) == setting.get(b);
}

}  // namespace

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = makeSettings();
  return table;
}

const Setting* findSetting(std::string_view key) {
  for (const auto& setting : settings()) {
    if (setting.key == key) {
      return &setting;
    }
  }
  return nullptr;
}

Expected<SettingValue, std::string> parseSettingText(const Setting& setting,
                                                     std::string_view input) {
  switch (setting.type) {
    case SettingType::Text:
      return SettingValue(std::string(input));
    case SettingType::Integer: {
      std::int64_t value = 0;
      const auto [end, error] = std::from_chars(input.data(), input.data() + input.size(), value);
      if (input.empty() || error != std::errc() || end != input.data() + input.size()) {
        return unexpected(std::string("expected an integer"));
      }
      return SettingValue(value);
    }
    case SettingType::Boolean: {
      std::string lower(input);
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
        return SettingValue(true);
      }
      if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
        return SettingValue(false);
      }
      return unexpected(std::string("expected true or false"));
    }
    case SettingType::TextList: {
      std::vector<std::string> items;
      std::string current;
      for (const char c : input) {
        if (c == ' ' || c == ',' || c == '\t') {
          if (!current.empty()) {
            items.push_back(std::move(current));
            current.clear();
          }
        } else {
          current.push_back(c);
        }
      }
      if (!current.empty()) {
        items.push_back(std::move(current));
      }
      return SettingValue(std::move(items));
    }
  }
  return unexpected(std::string("unknown setting type"));
}

std::optional<std::string> validateSetting(const Setting& setting, const SettingValue& value) {
  if (setting.type == SettingType::Integer) {
    const std::int64_t number = integerOf(value);
    if (number < setting.min || number > setting.max) {
      return fmt::format("must be between {} and {}{}{}", setting.min, setting.max,
                         setting.unit.empty() ? "" : " ", setting.unit);
    }
  }
  if (setting.check != nullptr) {
    return setting.check(value);
  }
  return std::nullopt;
}

std::string formatSettingValue(const SettingValue& value) {
  return std::visit(
      [](const auto& held) -> std::string {
        using T = std::decay_t<decltype(held)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return held;
        } else if constexpr (std::is_same_v<T, bool>) {
          return held ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(held);
        } else {
          return fmt::format("{}", fmt::join(held, " "));
        }
      },
      value);
}

Expected<Config, std::string> loadConfig(const ConfigSources& sources) {
  Config config;
  std::set<std::string_view> given;

  if (sources.file) {
    std::map<std::string, SettingValue, std::less<>> values;
    auto read = readFile(*sources.file, values);
    if (!read) {
      return unexpected(read.error());
    }
    for (const auto& [key, value] : values) {
      const Setting* setting = findSetting(key);
      setting->set(config, value);
      given.insert(setting->key);
    }
  }

  if (sources.environment) {
    for (const auto& setting : settings()) {
      const auto found = sources.environment(setting.env);
      if (!found) {
        continue;
      }
      auto value = parseSettingText(setting, *found);
      if (value) {
        if (auto problem = validateSetting(setting, *value)) {
          value = unexpected(*problem);
        }
      }
      if (!value) {
        return unexpected(
            fmt::format("{}={}: {} ({})", setting.env, *found, value.error(), setting.key));
      }
      setting.set(config, *value);
      given.insert(setting.key);
    }
  }

  for (const auto& [key, value] : sources.flags) {
    const Setting* setting = findSetting(key);
    if (setting == nullptr) {
      return unexpected(fmt::format("unknown setting \"{}\"", key));
    }
    if (auto problem = validateSetting(*setting, value)) {
      return unexpected(
          fmt::format("{} {}: {}", setting->flag, formatSettingValue(value), *problem));
    }
    setting->set(config, value);
    given.insert(setting->key);
  }

  // NOTE: with a listen address of 0.0.0.0 or port 0 the derived issuer is not a URL that
  // people can open, so such set-ups need server.issuer.
  if (config.issuer.empty() || !given.contains("server.issuer")) {
    config.issuer = defaultIssuer(config);
  }
  while (config.issuer.ends_with('/')) {
    config.issuer.pop_back();
  }
  return config;
}

Expected<void, std::string> checkConfigFile(const std::string& path) {
  std::map<std::string, SettingValue, std::less<>> values;
  return readFile(path, values);
}

std::optional<std::string> processEnvironment(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string(value);
}

std::vector<std::string> applyReloadable(Config& current, const Config& reloaded) {
  std::vector<std::string> need_restart;
  for (const auto& setting : settings()) {
    if (equalValues(setting, current, reloaded)) {
      continue;
    }
    if (setting.reloadable) {
      setting.set(current, setting.get(reloaded));
    } else {
      need_restart.emplace_back(setting.key);
    }
  }
  return need_restart;
}

}  // namespace devauth

// `devauth serve`: runs the server until SIGINT or SIGTERM.

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/secret.h"
#include "server/app.h"
#include "server/logging.h"
#include "web/assets.h"

namespace devauth::cli {
namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string issuer;
  std::string store{kDefaultStore};
  unsigned threads = 0;
  long expires_in = 600;
  long interval = 5;
  long purge_period = 60;
  long refresh_token_idle_ttl = 14 * 24 * 3600;
  long refresh_token_max_ttl = 90 * 24 * 3600;
  std::string log_level = "info";
  bool demo = false;
  AbuseLimits limits;
  bool trust_forwarded_for = false;
  std::vector<std::string> scopes_supported;
  std::string signing_algorithm = "ES256";
  long signing_key_rotation = 30L * 86400;
  long signing_key_overlap = 86400;
  std::string key_encryption_key_file;
  std::string access_token_audience;
  std::string brand_name;
  std::string brand_color;
  std::string brand_logo;
  std::string display_client;
};

inline constexpr std::string_view kDemoClientId = "tv-demo";
inline constexpr std::string_view kDemoUsername = "demo";
// 16 base64url characters carry 96 random bits.
inline constexpr std::size_t kDemoPasswordLength = 16;
// A logo is an icon next to the product name; a larger file is most likely the wrong file.
inline constexpr std::size_t kMaxLogoBytes = 64 * 1024;

std::string defaultIssuer(const ServeOptions& options) {
  // An IPv6 literal needs brackets in a URL (RFC 3986 §3.2.2).
  const bool ipv6 = options.listen.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + options.listen + "]" : options.listen;
  return fmt::format("http://{}:{}", host, options.port);
}

// Reads the SVG logo file at `path`.
Expected<std::string, std::string> readLogo(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return unexpected("cannot read the logo file '" + path + "'");
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  std::string svg = contents.str();
  if (svg.size() > kMaxLogoBytes) {
    return unexpected(
        fmt::format("the logo file '{}' is larger than {} KiB", path, kMaxLogoBytes / 1024));
  }
  if (svg.find("<svg") == std::string::npos) {
    return unexpected("the logo file '" + path + "' is not an SVG image");
  }
  return svg;
}

Config makeConfig(const ServeOptions& options) {
  Config config;
  config.http.address = options.listen;
  config.http.port = options.port;
  config.http.io_threads = options.threads;
  // NOTE: with --listen 0.0.0.0 or --port 0 the default issuer is not a URL that people can
  // open, so such set-ups need --issuer.
  config.issuer = options.issuer.empty() ? defaultIssuer(options) : options.issuer;
  while (config.issuer.ends_with('/')) {
    config.issuer.pop_back();
  }
  config.store = options.store;
  config.device_code_ttl = seconds(options.expires_in);
  config.poll_interval = seconds(options.interval);
  config.limits = options.limits;
  config.trust_forwarded_for = options.trust_forwarded_for;
  config.scopes_supported = options.scopes_supported;
  config.purge_period = seconds(options.purge_period);
  // CLI::IsMember admits only the two names.
  config.signing.algorithm = jose::parseSigningAlgorithm(options.signing_algorithm)
                                 .value_or(jose::SigningAlgorithm::Es256);
  config.signing.rotation_age = seconds(options.signing_key_rotation);
  config.signing.overlap = seconds(options.signing_key_overlap);
  config.signing.key_encryption_key_file = options.key_encryption_key_file;
  config.access_token_audience = options.access_token_audience;
  config.branding.product_name = options.brand_name;
  config.branding.accent_color = options.brand_color;
  config.display_client = options.display_client;
  if (config.display_client.empty() && options.demo) {
    config.display_client = kDemoClientId;
  }
  config.refresh_token_idle_ttl = seconds(options.refresh_token_idle_ttl);
  config.refresh_token_max_ttl = seconds(options.refresh_token_max_ttl);
  return config;
}

// Prints `lines` on stdout inside a frame of ASCII characters.
void printBox(const std::vector<std::string>& lines) {
  std::size_t width = 0;
  for (const auto& line : lines) {
    width = std::max(width, line.size());
  }
  const std::string border = "+" + std::string(width + 2, '-') + "+";
  std::cout << border << "\n";
  for (const auto& line : lines) {
    std::cout << "| " << line << std::string(width - line.size(), ' ') << " |\n";
  }
  std::cout << border << std::endl;
}

Expected<void, std::string> ensureDemoClient(Store& store, TimePoint now) {
  auto found = store.findClient(std::string(kDemoClientId));
  if (!found) {
    return unexpected("cannot read the demo client: " + found.error().message);
  }
  if (found.value()) {
    return {};
  }

  Client client;
  client.id = kDemoClientId;
  client.name = "Demo TV";
  client.type = ClientType::Public;
  client.allowed_scopes = {"profile"};
  client.default_scopes = {"profile"};
  client.created_at = now;
  auto inserted = store.insertClient(client);
  if (!inserted && inserted.error().kind != StoreError::Kind::Conflict) {
    return unexpected("cannot create the demo client: " + inserted.error().message);
  }
  return {};
}

// Creates the demo client and user when the store has no users, and prints the password once.
Expected<void, std::string> seedDemo(Store& store, const std::string& issuer, RandomSource& random,
                                     TimePoint now) {
  auto users = store.countUsers();
  if (!users) {
    return unexpected("cannot count the users: " + users.error().message);
  }
  if (users.value() > 0) {
    std::cout << "Demo: the store already has users, so no demo user was created. Sign in at "
              << issuer << "/device with an existing account.\n";
    return ensureDemoClient(store, now);
  }

  auto client = ensureDemoClient(store, now);
  if (!client) {
    return client;
  }
  std::string password = generateSecret(random).substr(0, kDemoPasswordLength);
  auto created = createUser(store, std::string(kDemoUsername), password, random, now);
  if (!created) {
    return created;
  }

  printBox({
      "devauth demo",
      "",
      fmt::format("Sign in at {}/device as {} / {}", issuer, kDemoUsername, password),
      "",
      fmt::format("Try it: devauth login --server {} --client-id {}", issuer, kDemoClientId),
      "This password is shown only once.",
  });
  return {};
}

const char* signalName(int signal_number) { return signal_number == SIGINT ? "SIGINT" : "SIGTERM"; }

int runServe(const ServeOptions& options) {
  Config config = makeConfig(options);
  configureLogging(options.log_level);
  if (!options.brand_logo.empty()) {
    auto logo = readLogo(options.brand_logo);
    if (!logo) {
      std::cerr << "devauth serve: " << logo.error() << "\n";
      return kExitFailure;
    }
    config.branding.logo_svg = std::move(*logo);
  }

  // The mask is inherited by every thread the App starts, so only sigwait below receives the
  // signals and shutdown runs on this thread, outside any signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SystemClock clock;
  CsprngRandom random;
  App app(config, clock, random);
  try {
    auto started = app.start();
    if (!started) {
      std::cerr << "devauth serve: cannot open the store '" << config.store
                << "': " << started.error().message << "\n";
      return kExitFailure;
    }
  } catch (const std::system_error& error) {
    std::cerr << "devauth serve: cannot listen on " << config.http.address << " port "
              << config.http.port << ": " << error.what()
              << ". Is another server using this port? Choose another with --port.\n";
    return kExitFailure;
  }

  if (options.demo) {
    auto seeded = seedDemo(app.store(), config.issuer, random, clock.now());
    if (!seeded) {
      std::cerr << "devauth serve: " << seeded.error() << "\n";
      app.stop();
      return kExitFailure;
    }
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("event=signal_received signal={}", signalName(signal_number));
  app.stop();
  return kExitOk;
}

// Flags of the abuse limits (limits/abuse_limits.h). Each counts per 60-second window; 0
// turns a limit off.
void addLimitOptions(CLI::App& serve, ServeOptions& options) {
  AbuseLimits& limits = options.limits;
  const auto add_count = [&serve](const std::string& name, std::int64_t& value,
                                  const std::string& help) {
    serve.add_option(name, value, help)->capture_default_str()->check(CLI::NonNegativeNumber);
  };
  add_count("--user-code-failures-per-address", limits.user_code_failures_per_address.max_count,
            "Wrong user codes accepted per source address per minute (RFC 8628 §5.1)");
  add_count("--user-code-failures-per-session", limits.user_code_failures_per_session.max_count,
            "Wrong user codes accepted per browser session or approving client per minute");
  add_count("--user-code-failures-total", limits.user_code_failures_total.max_count,
            "Wrong user codes accepted from all sources together per minute");
  add_count("--device-requests-per-client", limits.device_requests_per_client.max_count,
            "Device authorization requests accepted per client per minute");
  add_count("--device-requests-per-address", limits.device_requests_per_address.max_count,
            "Device authorization requests accepted per source address per minute");
  add_count("--max-live-authorizations", limits.max_live_authorizations_per_client,
            "Pending, unexpired device authorizations allowed per client");
  add_count("--client-auth-failures-per-client", limits.client_auth_failures_per_client.max_count,
            "Failed client authentications accepted per client per minute");
  add_count("--client-auth-failures-per-address", limits.client_auth_failures_per_address.max_count,
            "Failed client authentications accepted per source address per minute");
  add_count("--introspection-requests-per-client",
            limits.introspection_requests_per_client.max_count,
            "Introspection requests accepted per calling client per minute");
  add_count("--revocation-requests-per-client", limits.revocation_requests_per_client.max_count,
            "Revocation requests accepted per client per minute");
  add_count("--revocation-requests-per-address", limits.revocation_requests_per_address.max_count,
            "Revocation requests accepted per source address per minute");
  serve.add_flag("--trust-forwarded-for", options.trust_forwarded_for,
                 "Count limits by the last X-Forwarded-For address; only behind a reverse proxy "
                 "that appends it");
  serve
      .add_option("--scopes-supported", options.scopes_supported,
                  "Scopes listed in the metadata (default: every registered client's scopes)")
      ->delimiter(' ');
}

// Flags of the signing keys (keys/signing_keys.h) and of JWT access tokens.
void addSigningOptions(CLI::App& serve, ServeOptions& options) {
  serve
      .add_option("--signing-algorithm", options.signing_algorithm,
                  "Algorithm of new signing keys: ES256 (P-256) or EdDSA (Ed25519)")
      ->capture_default_str()
      ->check(CLI::IsMember({"ES256", "EdDSA"}));
  serve
      .add_option("--signing-key-rotation", options.signing_key_rotation,
                  "Age in seconds at which the signing key is replaced by a new one")
      ->capture_default_str()
      ->check(CLI::Range(60L, 10L * 365L * 86400L));
  serve
      .add_option("--signing-key-overlap", options.signing_key_overlap,
                  "Seconds a replaced key stays published in the JWKS; longer than the longest "
                  "token lifetime plus 300 s of JWKS caching")
      ->capture_default_str()
      ->check(CLI::Range(0L, 365L * 86400L));
  serve.add_option("--key-encryption-key-file", options.key_encryption_key_file,
                   "File with the key that encrypts private signing keys in the store, created "
                   "with mode 0600 if missing (default: DEVAUTH_KEY_ENCRYPTION_KEY, else "
                   "<database>.kek for SQLite; required for PostgreSQL)");
  serve.add_option("--access-token-audience", options.access_token_audience,
                   "aud claim of JWT access tokens: the resource server's identifier (default: "
                   "the issuer)");
}

// Flags of the pages' branding and of the display page.
void addPageOptions(CLI::App& serve, ServeOptions& options) {
  serve.add_option("--brand-name", options.brand_name,
                   "Product name in the header and title of the pages (default: Device sign-in, "
                   "translated)");
  serve
      .add_option("--brand-color", options.brand_color,
                  "Accent colour of the pages' buttons as #rrggbb; the button text is black or "
                  "white, whichever contrasts more")
      ->check(CLI::Validator(
          [](const std::string& value) {
            return web::isHexColor(value) ? std::string()
                                          : "expected a colour as #rrggbb, for example #0b57d0";
          },
          "#RRGGBB"));
  serve
      .add_option("--brand-logo", options.brand_logo,
                  "SVG file shown next to the product name, served at /assets/logo.svg")
      ->check(CLI::ExistingFile);
  serve.add_option("--display-client", options.display_client,
                   "Public client for which GET /device/display starts sign-ins as a TV or kiosk "
                   "would; off when empty (default with --demo: tv-demo)");
}

}  // namespace

void addServeCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand("serve", "Run the device authorization server");

  serve->add_option("--listen", options->listen, "IP address to listen on")->capture_default_str();
  serve->add_option("--port", options->port, "TCP port to listen on; 0 picks a free port")
      ->capture_default_str();
  serve->add_option("--issuer", options->issuer,
                    "Base URL that devices and browsers use to reach this server, for example "
                    "https://auth.example.com (default: http://<listen>:<port>)");
  serve
      ->add_option("--store", options->store,
                   "Store location: a SQLite file path, or postgresql://USER@HOST/DATABASE")
      ->capture_default_str();
  serve
      ->add_option("--threads", options->threads,
                   "Number of HTTP I/O threads; 0 uses one per CPU core")
      ->capture_default_str()
      ->check(CLI::Range(0U, 256U));
  serve
      ->add_option("--expires-in", options->expires_in,
                   "Lifetime of device and user codes, in seconds (RFC 8628 expires_in)")
      ->capture_default_str()
      ->check(CLI::Range(10L, 86400L));
  serve
      ->add_option("--interval", options->interval,
                   "Minimum time between polls that devices are told to keep, in seconds "
                   "(RFC 8628 interval)")
      ->capture_default_str()
      ->check(CLI::Range(1L, 3600L));
  serve
      ->add_option("--purge-period", options->purge_period,
                   "Time between purges of expired codes, sessions and tokens, in seconds")
      ->capture_default_str()
      ->check(CLI::Range(1L, 86400L));
  serve
      ->add_option("--refresh-token-idle-ttl", options->refresh_token_idle_ttl,
                   "Time after which an unused refresh token expires, in seconds")
      ->capture_default_str()
      ->check(CLI::Range(1L, 10L * 365 * 86400));
  serve
      ->add_option("--refresh-token-max-ttl", options->refresh_token_max_ttl,
                   "Time after approval after which no refresh token of that approval is "
                   "accepted, in seconds")
      ->capture_default_str()
      ->check(CLI::Range(1L, 10L * 365 * 86400));
  serve
      ->add_option("--log-level", options->log_level,
                   "Minimum level of the log lines written to stderr")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  serve->add_flag("--demo", options->demo,
                  "On a store without users, create the client tv-demo and the user demo, and "
                  "print the password once");

  addLimitOptions(*serve, *options);
  addSigningOptions(*serve, *options);
  addPageOptions(*serve, *options);

  serve->callback([options, &exit_code] { exit_code = runServe(*options); });
}

}  // namespace devauth::cli

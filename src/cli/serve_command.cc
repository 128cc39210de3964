// `devauth serve`: runs the server until SIGINT or SIGTERM; SIGHUP reloads the configuration.

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/secret.h"
#include "server/app.h"
#include "server/code_odds.h"
#include "server/logging.h"
#include "server/settings.h"
#include "store/store_location.h"

namespace devauth::cli {
namespace {

// The flags of `devauth serve`. Each setting of the table in server/settings.h has a flag; its
// text lands here and is parsed with the setting's own parser after CLI11 has run.
struct ServeOptions {
  std::string config_file;
  bool demo = false;
  // Storage for CLI11, by setting key. std::map keeps the addresses stable.
  std::map<std::string, std::string, std::less<>> texts;
  std::map<std::string, std::vector<std::string>, std::less<>> lists;
  std::map<std::string, bool, std::less<>> booleans;
  std::vector<std::pair<const Setting*, CLI::Option*>> options;
};

inline constexpr std::string_view kDemoClientId = "tv-demo";
inline constexpr std::string_view kDemoUsername = "demo";
// 16 base64url characters carry 96 random bits.
inline constexpr std::size_t kDemoPasswordLength = 16;
// A logo is an icon next to the product name; a larger file is most likely the wrong file.
inline constexpr std::size_t kMaxLogoBytes = std::size_t{64} * 1024;

// The values given as flags, parsed by their settings, or the first invalid one.
Expected<std::map<std::string, SettingValue, std::less<>>, std::string> flagValues(
    const ServeOptions& options) {
  std::map<std::string, SettingValue, std::less<>> values;
  for (const auto& [setting, option] : options.options) {
    if (option->count() == 0) {
      continue;
    }
    const std::string key(setting->key);
    if (setting->type == SettingType::Boolean) {
      values[key] = options.booleans.at(key);
      continue;
    }
    if (setting->type == SettingType::TextList) {
      values[key] = options.lists.at(key);
      continue;
    }
    auto value = parseSettingText(*setting, options.texts.at(key));
    if (!value) {
      return unexpected(
          fmt::format("{} {}: {}", setting->flag, options.texts.at(key), value.error()));
    }
    values[key] = std::move(value).value();
  }
  return values;
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

Expected<Config, std::string> buildConfig(const ServeOptions& options) {
  auto flags = flagValues(options);
  if (!flags) {
    return unexpected(flags.error());
  }
  ConfigSources sources;
  if (!options.config_file.empty()) {
    sources.file = options.config_file;
  }
  sources.environment = processEnvironment;
  sources.flags = std::move(flags).value();
  return loadConfig(sources);
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

const char* signalName(int signal_number) {
  switch (signal_number) {
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "SIGTERM";
  }
}

// Logs a warning and returns true when the limits are off, so the odds of guessing a user code
// are unbounded and no client's profile can be checked.
bool oddsUnbounded(const Config& config) {
  if (guessingOdds(ClientCodeSettings{}, config)) {
    return false;
  }
  spdlog::warn(
      "event=user_code_limits_off error=\"the wrong-code budgets per address and in total, or "
      "the live-authorization cap, are off, so the odds of guessing a user code are "
      "unbounded\"");
  return true;
}

// Rejects the clients of `store` whose user codes are too easy to guess under the limits of
// `config` (RFC 8628 §5.1, server/code_odds.h), one line per client.
Expected<void, std::string> checkClientOdds(Store& store, const Config& config) {
  auto problems = checkStoredClientsOdds(store, config);
  if (!problems) {
    return unexpected(problems.error());
  }
  if (problems->empty()) {
    return {};
  }
  return unexpected(fmt::format("{}", fmt::join(*problems, "\n")));
}

// Checks the stored clients before the server listens. A store that cannot be opened is left
// to App::start, which reports it.
Expected<void, std::string> checkStartupOdds(const Config& config) {
  if (oddsUnbounded(config)) {
    return {};
  }
  auto store = openStore(config.store, StoreOptions{config.store_cache_mib * 1024});
  if (!store || !(*store)->migrate()) {
    return {};
  }
  return checkClientOdds(**store, config);
}

// Reads the file, the environment and the flags again and applies what can change without a
// restart. An invalid configuration changes nothing.
void reloadConfig(App& app, const ServeOptions& options) {
  auto reloaded = buildConfig(options);
  if (!reloaded) {
    spdlog::error("event=config_reload_failed error=\"{}\"", reloaded.error());
    return;
  }
  // Limits loosened so far that a stored client's codes become too easy to guess are rejected
  // as at start-up, and the running settings stay.
  auto odds = oddsUnbounded(*reloaded) ? Expected<void, std::string>()
                                       : checkClientOdds(app.store(), *reloaded);
  if (!odds) {
    std::string message = odds.error();
    std::replace(message.begin(), message.end(), '\n', ' ');
    spdlog::error("event=config_reload_failed error=\"{}\"", message);
    return;
  }
  app.reload(*reloaded);
}

int runServe(const ServeOptions& options) {
  auto built = buildConfig(options);
  if (!built) {
    std::cerr << "devauth serve: " << built.error() << "\n";
    return kExitFailure;
  }
  Config config = std::move(built).value();
  configureLogging(config.log_level, config.log_format);
  if (config.display_client.empty() && options.demo) {
    config.display_client = kDemoClientId;
  }
  if (!config.branding.logo_file.empty()) {
    auto logo = readLogo(config.branding.logo_file);
    if (!logo) {
      std::cerr << "devauth serve: " << logo.error() << "\n";
      return kExitFailure;
    }
    config.branding.logo_svg = std::move(*logo);
  }

  // The mask is inherited by every thread the App starts, so only sigwait below receives the
  // signals and shutdown and reload run on this thread, outside any signal handler.
  sigset_t handled_signals;
  sigemptyset(&handled_signals);
  sigaddset(&handled_signals, SIGINT);
  sigaddset(&handled_signals, SIGTERM);
  sigaddset(&handled_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &handled_signals, nullptr);

  auto odds = checkStartupOdds(config);
  if (!odds) {
    std::cerr << "devauth serve: " << odds.error() << "\n";
    return kExitFailure;
  }

  SystemClock clock;
  CsprngRandom random;
  App app(config, clock, random);
  try {
    auto started = app.start();
    if (!started) {
      std::cerr << "devauth serve: cannot open the store '" << redactStoreLocation(config.store)
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
  while (true) {
    sigwait(&handled_signals, &signal_number);
    spdlog::info("event=signal_received signal={}", signalName(signal_number));
    if (signal_number != SIGHUP) {
      break;
    }
    reloadConfig(app, options);
  }
  app.stop();
  return kExitOk;
}

// The help text of a setting's flag: what it sets, its unit, default, variable and file key.
std::string flagHelp(const Setting& setting) {
  const SettingValue default_value = setting.get(Config{});
  std::string shown = formatSettingValue(default_value);
  if (shown.empty()) {
    shown = "empty";
  }
  const std::string unit = setting.unit.empty() ? "" : fmt::format(" Unit: {}.", setting.unit);
  return fmt::format("{}.{} Default: {}. Environment: {}. File key: {}.{}", setting.help, unit,
                     shown, setting.env, setting.key,
                     setting.reloadable ? " SIGHUP reloads it." : "");
}

// One flag for every setting of the table.
void addSettingFlags(CLI::App& serve, ServeOptions& options) {
  for (const auto& setting : settings()) {
    const std::string key(setting.key);
    const std::string flag(setting.flag);
    CLI::Option* option = nullptr;
    switch (setting.type) {
      case SettingType::Boolean:
        option = serve.add_flag(flag, options.booleans[key], flagHelp(setting));
        break;
      case SettingType::TextList:
        option = serve.add_option(flag, options.lists[key], flagHelp(setting))->delimiter(' ');
        break;
      case SettingType::Integer:
        option = serve.add_option(flag, options.texts[key], flagHelp(setting))->type_name("INT");
        break;
      case SettingType::Text:
        option = serve.add_option(flag, options.texts[key], flagHelp(setting))->type_name("TEXT");
        break;
    }
    options.options.emplace_back(&setting, option);
  }
}

}  // namespace

void addServeCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the device authorization server. Settings come from the defaults, then the --config "
      "file, then DEVAUTH_* environment variables, then flags; SIGHUP reloads the ones marked so");

  serve->add_option("--config", options->config_file,
                    "TOML configuration file (docs/devauth.example.toml lists every key)");
  serve->add_flag("--demo", options->demo,
                  "On a store without users, create the client tv-demo and the user demo, and "
                  "print the password once");
  addSettingFlags(*serve, *options);

  serve->callback([options, &exit_code] { exit_code = runServe(*options); });
}

}  // namespace devauth::cli

// `devauth config check FILE`: validates a configuration file without starting the server.

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "server/code_odds.h"
#include "server/settings.h"

namespace devauth::cli {
namespace {

// Whether the store of `location` may be opened without creating it: a PostgreSQL URL, or a
// SQLite file that exists.
bool storeExists(const std::string& location) {
  if (location.starts_with("postgresql://") || location.starts_with("postgres://")) {
    return true;
  }
  const std::string path = location.starts_with("sqlite:") ? location.substr(7) : location;
  std::error_code error;
  return std::filesystem::exists(path, error);
}

// Checks the guessing odds of the clients stored in the configured store, as `devauth serve`
// does at start-up. A store that does not exist yet has no clients to check.
Expected<void, std::string> checkStoredClients(const std::string& path) {
  ConfigSources sources;
  sources.file = path;
  sources.environment = processEnvironment;
  auto config = loadConfig(sources);
  if (!config) {
    return unexpected(config.error());
  }
  if (!storeExists(config->store)) {
    return {};
  }
  auto store = openMigratedStore(config->store);
  if (!store) {
    return unexpected(store.error());
  }
  auto problems = checkStoredClientsOdds(**store, *config);
  if (!problems) {
    return unexpected(problems.error());
  }
  if (!problems->empty()) {
    return unexpected(fmt::format("{}", fmt::join(*problems, "\n")));
  }
  return {};
}

}  // namespace

void addConfigCommands(CLI::App& app, int& exit_code) {
  CLI::App* config = app.add_subcommand("config", "Work with devauth serve configuration files");
  config->require_subcommand(1);

  auto path = std::make_shared<std::string>();
  CLI::App* check = config->add_subcommand(
      "check",
      "Validate a TOML configuration file: every key known, every value of the right type and "
      "range, and the user codes of the clients in its store hard enough to guess under its "
      "limits. Prints the first problem with its line and exits 1, or prints ok and exits 0");
  check->add_option("FILE", *path, "The TOML file to check")->required();
  check->callback([path, &exit_code] {
    auto checked = checkConfigFile(*path);
    if (checked) {
      checked = checkStoredClients(*path);
    }
    if (!checked) {
      std::cerr << "devauth config check: " << checked.error() << "\n";
      exit_code = kExitFailure;
      return;
    }
    std::cout << *path << ": ok\n";
    exit_code = kExitOk;
  });
}

}  // namespace devauth::cli

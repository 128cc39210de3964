// `devauth config check FILE`: validates a configuration file without starting the server.

#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "server/settings.h"

namespace devauth::cli {

void addConfigCommands(CLI::App& app, int& exit_code) {
  CLI::App* config = app.add_subcommand("config", "Work with devauth serve configuration files");
  config->require_subcommand(1);

  auto path = std::make_shared<std::string>();
  CLI::App* check = config->add_subcommand(
      "check",
      "Validate a TOML configuration file: every key known, every value of the right type and "
      "range. Prints the first problem with its line and exits 1, or prints ok and exits 0");
  check->add_option("FILE", *path, "The TOML file to check")->required();
  check->callback([path, &exit_code] {
    auto checked = checkConfigFile(*path);
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

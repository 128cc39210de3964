// The `devauth` command line: the server, its administration, and a device-side client.

#include <exception>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app("devauth: an OAuth 2.0 Device Authorization Grant server (RFC 8628)", "devauth");
  app.require_subcommand(1);

  int exit_code = devauth::cli::kExitOk;
  devauth::cli::addServeCommand(app, exit_code);
  devauth::cli::addClientCommands(app, exit_code);
  devauth::cli::addUserCommands(app, exit_code);
  devauth::cli::addLoginCommand(app, exit_code);
  devauth::cli::addKeysCommands(app, exit_code);
  devauth::cli::addConfigCommands(app, exit_code);
  devauth::cli::addAdminCommands(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const std::exception& error) {
    std::cerr << "devauth: unexpected error: " << error.what() << "\n";
    return devauth::cli::kExitFailure;
  }
  return exit_code;
}

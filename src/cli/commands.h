#pragma once

// The subcommands of the `devauth` command line. Each add*Command function registers its
// subcommands on `app`; when one of them runs, it stores the process exit status in
// `exit_code`.

#include <CLI/CLI.hpp>
#include <string_view>

namespace devauth::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
// `devauth login`: the person denied the request (RFC 8628 §3.5 access_denied).
inline constexpr int kExitDenied = 2;
// `devauth login`: the device code expired before approval (RFC 8628 §3.5 expired_token).
inline constexpr int kExitExpired = 3;

// The store location that serve, client and user use when --store is not given.
inline constexpr std::string_view kDefaultStore = "devauth.db";

void addServeCommand(CLI::App& app, int& exit_code);
void addClientCommands(CLI::App& app, int& exit_code);
void addUserCommands(CLI::App& app, int& exit_code);
void addLoginCommand(CLI::App& app, int& exit_code);
void addKeysCommands(CLI::App& app, int& exit_code);
void addConfigCommands(CLI::App& app, int& exit_code);
void addAdminCommands(CLI::App& app, int& exit_code);

}  // namespace devauth::cli

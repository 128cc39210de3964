// `devauth user add | remove`: manage the local accounts that sign in on the verification pages.

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <string>

#include "cli/accounts.h"
#include "cli/commands.h"

namespace devauth::cli {
namespace {

struct UserOptions {
  std::string username;
  std::string store{kDefaultStore};
};

inline constexpr std::size_t kMaxUsernameLength = 64;
inline constexpr std::size_t kMaxPasswordLength = 1024;

bool isValidUsername(std::string_view username) {
  if (username.empty() || username.size() > kMaxUsernameLength) {
    return false;
  }
  return std::none_of(username.begin(), username.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
}

// Reads one line from stdin without the line break. When stdin is a terminal, prompts on
// stderr and turns echo off while the password is typed.
std::string readPasswordLine(const char* prompt) {
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (terminal) {
    std::cerr << prompt << std::flush;
    ::tcgetattr(STDIN_FILENO, &saved);
    termios silent = saved;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent);
  }

  std::string line;
  std::getline(std::cin, line);
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }

  if (terminal) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  return line;
}

Expected<std::string, std::string> readNewPassword() {
  std::string password = readPasswordLine("Password: ");
  if (password.empty()) {
    return unexpected(std::string("the password is empty; pass it as one line on stdin"));
  }
  if (password.size() > kMaxPasswordLength) {
    return unexpected("the password is longer than " + std::to_string(kMaxPasswordLength) +
                      " bytes");
  }
  if (::isatty(STDIN_FILENO) == 1) {
    std::string repeated = readPasswordLine("Repeat the password: ");
    const bool same = repeated == password;
    sodium_memzero(repeated.data(), repeated.size());
    if (!same) {
      sodium_memzero(password.data(), password.size());
      return unexpected(std::string("the two passwords differ"));
    }
  }
  return password;
}

int runUserAdd(const UserOptions& options) {
  if (!isValidUsername(options.username)) {
    std::cerr << "devauth user add: invalid username '" << options.username << "': use 1 to "
              << kMaxUsernameLength << " bytes without spaces or control characters\n";
    return kExitFailure;
  }
  auto password = readNewPassword();
  if (!password) {
    std::cerr << "devauth user add: " << password.error() << "\n";
    return kExitFailure;
  }

  auto store = openMigratedStore(options.store);
  if (!store) {
    std::cerr << "devauth user add: " << store.error() << "\n";
    return kExitFailure;
  }
  SystemClock clock;
  CsprngRandom random;
  auto created =
      createUser(*store.value(), options.username, password.value(), random, clock.now());
  sodium_memzero(password->data(), password->size());
  if (!created) {
    std::cerr << "devauth user add: " << created.error() << "\n";
    return kExitFailure;
  }
  std::cerr << "Added user '" << options.username << "'.\n";
  return kExitOk;
}

int runUserRemove(const UserOptions& options) {
  auto store = openMigratedStore(options.store);
  if (!store) {
    std::cerr << "devauth user remove: " << store.error() << "\n";
    return kExitFailure;
  }
  auto removed = store.value()->removeUser(options.username);
  if (!removed) {
    std::cerr << "devauth user remove: cannot remove the user '" << options.username
              << "': " << removed.error().message << "\n";
    return kExitFailure;
  }
  if (!removed.value()) {
    std::cerr << "devauth user remove: user '" << options.username << "' not found\n";
    return kExitFailure;
  }
  std::cerr << "Removed user '" << options.username << "'.\n";
  return kExitOk;
}

void addUserSubcommand(CLI::App& user, const std::string& name, const std::string& description,
                       int (*run)(const UserOptions&), int& exit_code) {
  auto options = std::make_shared<UserOptions>();
  CLI::App* command = user.add_subcommand(name, description);
  command->add_option("USERNAME", options->username, "Name the person signs in with")->required();
  command
      ->add_option("--store", options->store,
                   "Store location: a SQLite file path, or postgresql://USER@HOST/DATABASE")
      ->capture_default_str();
  command->callback([options, run, &exit_code] { exit_code = run(*options); });
}

}  // namespace

void addUserCommands(CLI::App& app, int& exit_code) {
  CLI::App* user = app.add_subcommand("user", "Manage local user accounts");
  user->require_subcommand(1);
  addUserSubcommand(*user, "add",
                    "Add a user; the password is read as one line from stdin, or typed at a "
                    "prompt on a terminal",
                    runUserAdd, exit_code);
  addUserSubcommand(*user, "remove", "Remove a user", runUserRemove, exit_code);
}

}  // namespace devauth::cli

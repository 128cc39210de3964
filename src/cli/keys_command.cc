// `devauth keys rotate | list`: the keys that sign JWT access tokens and ID tokens.

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "keys/signing_keys.h"
#include "server/logging.h"

namespace devauth::cli {
namespace {

struct KeysOptions {
  std::string store{kDefaultStore};
  std::string algorithm = "ES256";
  long overlap = 86400;
  std::string key_encryption_key_file;
};

std::string formatTime(TimePoint time) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<seconds>(time));
}

SigningSettings settingsFrom(const KeysOptions& options) {
  SigningSettings settings;
  // CLI::IsMember admits only the two names.
  settings.algorithm =
      jose::parseSigningAlgorithm(options.algorithm).value_or(jose::SigningAlgorithm::Es256);
  settings.overlap = seconds(options.overlap);
  settings.key_encryption_key_file = options.key_encryption_key_file;
  return settings;
}

int runKeysRotate(const KeysOptions& options) {
  // Log lines go to stderr, so that stdout carries the kid alone.
  configureLogging("warn");
  auto store = openMigratedStore(options.store);
  if (!store) {
    std::cerr << "devauth keys rotate: " << store.error() << "\n";
    return kExitFailure;
  }
  SystemClock clock;
  SigningKeys keys(**store, clock, settingsFrom(options), options.store);
  auto rotated = keys.rotate();
  if (!rotated) {
    std::cerr << "devauth keys rotate: " << rotated.error() << "\n";
    return kExitFailure;
  }
  std::cerr << "The new " << rotated->algorithm
            << " key signs from now on; the previous key stays published for " << options.overlap
            << " seconds.\n";
  std::cout << rotated->kid << std::endl;
  return kExitOk;
}

int runKeysList(const KeysOptions& options) {
  configureLogging("warn");
  auto store = openMigratedStore(options.store);
  if (!store) {
    std::cerr << "devauth keys list: " << store.error() << "\n";
    return kExitFailure;
  }
  SystemClock clock;
  SigningKeys keys(**store, clock, settingsFrom(options), options.store);
  auto statuses = keys.list();
  if (!statuses) {
    std::cerr << "devauth keys list: " << statuses.error() << "\n";
    return kExitFailure;
  }
  const TimePoint now = clock.now();
  std::cout << fmt::format("{:<43}  {:<5}  {:<20}  {}\n", "KID", "ALG", "CREATED", "STATE");
  for (const SigningKeyStatus& status : *statuses) {
    std::string state = "active";
    if (!status.active) {
      state = *status.published_until > now
                  ? "published until " + formatTime(*status.published_until)
                  : "retired";
    }
    std::cout << fmt::format("{:<43}  {:<5}  {:<20}  {}\n", status.record.kid,
                             status.record.algorithm, formatTime(status.record.created_at), state);
  }
  return kExitOk;
}

void addCommonOptions(CLI::App& command, KeysOptions& options) {
  command
      .add_option("--store", options.store,
                  "Store location: a SQLite file path, or postgresql://USER@HOST/DATABASE")
      ->capture_default_str();
  command.add_option("--key-encryption-key-file", options.key_encryption_key_file,
                     "File with the key that encrypts private keys in the store (default: "
                     "DEVAUTH_KEY_ENCRYPTION_KEY, else <database>.kek for SQLite)");
  command
      .add_option("--signing-key-overlap", options.overlap,
                  "Seconds a replaced key stays published after its successor was created")
      ->capture_default_str()
      ->check(CLI::Range(0L, 365L * 86400L));
}

}  // namespace

void addKeysCommands(CLI::App& app, int& exit_code) {
  CLI::App* keys =
      app.add_subcommand("keys", "Manage the keys that sign JWT access tokens and ID tokens");
  keys->require_subcommand(1);

  auto rotate_options = std::make_shared<KeysOptions>();
  CLI::App* rotate =
      keys->add_subcommand("rotate", "Create a new signing key now; prints its kid on stdout");
  addCommonOptions(*rotate, *rotate_options);
  rotate
      ->add_option("--algorithm", rotate_options->algorithm,
                   "Algorithm of the new key: ES256 (P-256) or EdDSA (Ed25519)")
      ->capture_default_str()
      ->check(CLI::IsMember({"ES256", "EdDSA"}));
  rotate->callback([rotate_options, &exit_code] { exit_code = runKeysRotate(*rotate_options); });

  auto list_options = std::make_shared<KeysOptions>();
  CLI::App* list = keys->add_subcommand("list", "List the signing keys, the newest first");
  addCommonOptions(*list, *list_options);
  list->callback([list_options, &exit_code] { exit_code = runKeysList(*list_options); });
}

}  // namespace devauth::cli

// `devauth client add | update | list | remove`: manage registered clients.

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/client.h"
#include "core/scope.h"
#include "core/secret.h"
#include "core/user_code_profile.h"
#include "server/code_odds.h"
#include "server/settings.h"

namespace devauth::cli {
namespace {

// The user code settings of `client add` and `client update`. A value of -1 (or an empty
// profile) means the flag was not given.
struct CodeSettingOptions {
  std::string user_code_profile;
  long expires_in = -1;
  long interval = -1;
  // The server's configuration file, whose limits the guessing odds are checked against.
  std::string config_file;
};

// --relay-tokens and --no-relay-tokens of `client add` and `client update`; unset when
// neither flag was given.
struct RelayTokenOptions {
  CLI::Option* accept = nullptr;
  CLI::Option* reject = nullptr;
  bool accept_flag = false;
  bool reject_flag = false;

  std::optional<bool> requested() const {
    if (accept->count() > 0) {
      return true;
    }
    if (reject->count() > 0) {
      return false;
    }
    return std::nullopt;
  }
};

struct ClientAddOptions {
  std::string id;
  std::string name;
  bool confidential = false;
  std::string scopes;
  std::string default_scopes;
  // Set when --default-scopes was given, even as an empty string.
  CLI::Option* default_scopes_option = nullptr;
  bool may_approve = false;
  bool no_device_grant = false;
  bool refresh_tokens = false;
  bool may_introspect = false;
  long token_ttl = 3600;
  std::string access_token_format = "opaque";
  RelayTokenOptions relay_tokens;
  CodeSettingOptions codes;
  std::string store{kDefaultStore};
};

struct ClientUpdateOptions {
  std::string id;
  RelayTokenOptions relay_tokens;
  CodeSettingOptions codes;
  std::string store{kDefaultStore};
};

struct ClientIdOptions {
  std::string id;
  std::string store{kDefaultStore};
};

inline constexpr std::size_t kMaxClientIdLength = 128;

// RFC 6749 Appendix A.1 allows %x20-7E in a client_id. The space is rejected as well, so that
// ids can be passed on command lines and shown in tables.
bool isValidClientId(std::string_view id) {
  if (id.empty() || id.size() > kMaxClientIdLength) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Expected<std::vector<std::string>, std::string> parseScopeOption(std::string_view option,
                                                                 const std::string& text) {
  // parseScope rejects an empty string, but an empty option means a client without scopes.
  if (text.empty()) {
    return std::vector<std::string>{};
  }
  auto scopes = parseScope(text);
  if (!scopes) {
    return unexpected(fmt::format(
        "invalid {} '{}': scopes are separated by single spaces and may not contain '\"' or '\\'",
        option, text));
  }
  return std::move(*scopes);
}

// Applies the given flags to `settings`. 0 for --expires-in or --interval returns to the
// server's setting; other values must lie in the range of the server's own setting.
Expected<ClientCodeSettings, std::string> applyCodeOptions(ClientCodeSettings settings,
                                                           const CodeSettingOptions& options) {
  if (!options.user_code_profile.empty()) {
    auto profile = parseUserCodeProfile(options.user_code_profile);
    if (!profile) {
      return unexpected(profile.error());
    }
    settings.user_code_profile = *profile;
  }
  if (options.expires_in == 0) {
    settings.device_code_ttl.reset();
  } else if (options.expires_in > 0) {
    if (options.expires_in < 10 || options.expires_in > 86400) {
      return unexpected(fmt::format(
          "invalid --expires-in {}: use 10 to 86400 seconds, or 0 for the server's setting",
          options.expires_in));
    }
    settings.device_code_ttl = seconds(options.expires_in);
  }
  if (options.interval == 0) {
    settings.poll_interval.reset();
  } else if (options.interval > 0) {
    if (options.interval > 3600) {
      return unexpected(
          fmt::format("invalid --interval {}: use 1 to 3600 seconds, or 0 for the server's setting",
                      options.interval));
    }
    settings.poll_interval = seconds(options.interval);
  }
  return settings;
}

// Rejects settings whose guessing odds exceed the limit under the server's limits: those of
// --config and the DEVAUTH_* variables, or the defaults.
Expected<void, std::string> checkCodeOdds(const std::string& client_id,
                                          const ClientCodeSettings& settings,
                                          const CodeSettingOptions& options) {
  ConfigSources sources;
  if (!options.config_file.empty()) {
    sources.file = options.config_file;
  }
  sources.environment = processEnvironment;
  auto config = loadConfig(sources);
  if (!config) {
    return unexpected(config.error());
  }
  return checkGuessingOdds(client_id, settings, *config);
}

Expected<Client, std::string> buildClient(const ClientAddOptions& options, TimePoint now) {
  if (!isValidClientId(options.id)) {
    return unexpected(
        fmt::format("invalid client id '{}': use 1 to {} printable ASCII characters without spaces",
                    options.id, kMaxClientIdLength));
  }
  if (options.may_approve && !options.confidential) {
    return unexpected(
        std::string("--may-approve needs --confidential: only a client with a "
                    "secret may approve codes"));
  }
  if (options.may_introspect && !options.confidential) {
    return unexpected(
        std::string("--may-introspect needs --confidential: only a client with a "
                    "secret may introspect tokens"));
  }

  Client client;
  client.id = options.id;
  client.name = options.name.empty() ? options.id : options.name;
  client.type = options.confidential ? ClientType::Confidential : ClientType::Public;
  client.device_grant = !options.no_device_grant;
  client.may_approve = options.may_approve;
  client.refresh_grant = options.refresh_tokens;
  client.may_introspect = options.may_introspect;
  client.accepts_relayed_tokens = options.relay_tokens.requested().value_or(false);
  client.access_token_ttl = seconds(options.token_ttl);
  // CLI::IsMember below admits only the two names.
  client.access_token_format =
      parseAccessTokenFormat(options.access_token_format).value_or(AccessTokenFormat::Opaque);
  client.created_at = now;
  auto codes = applyCodeOptions(ClientCodeSettings{}, options.codes);
  if (!codes) {
    return unexpected(codes.error());
  }
  client.code_settings = *codes;
  if (client.device_grant) {
    auto odds = checkCodeOdds(client.id, client.code_settings, options.codes);
    if (!odds) {
      return unexpected(odds.error());
    }
  }

  auto allowed = parseScopeOption("--scopes", options.scopes);
  if (!allowed) {
    return unexpected(allowed.error());
  }
  client.allowed_scopes = allowed.value();
  client.default_scopes = client.allowed_scopes;
  if (options.default_scopes_option->count() > 0) {
    auto defaults = parseScopeOption("--default-scopes", options.default_scopes);
    if (!defaults) {
      return unexpected(defaults.error());
    }
    auto extra = scopesNotAllowed(defaults.value(), client.allowed_scopes);
    if (!extra.empty()) {
      return unexpected(fmt::format("--default-scopes has '{}', which --scopes does not allow",
                                    joinScope(extra)));
    }
    client.default_scopes = defaults.value();
  }
  return client;
}

int runClientAdd(const ClientAddOptions& options) {
  SystemClock clock;
  CsprngRandom random;
  auto client = buildClient(options, clock.now());
  if (!client) {
    std::cerr << "devauth client add: " << client.error() << "\n";
    return kExitFailure;
  }
  std::string secret;
  if (client->type == ClientType::Confidential) {
    secret = generateSecret(random);
    client->secret_hash = hashSecret(secret);
  }

  auto store = openMigratedStore(options.store);
  if (!store) {
    std::cerr << "devauth client add: " << store.error() << "\n";
    return kExitFailure;
  }
  auto inserted = store.value()->insertClient(client.value());
  if (!inserted) {
    if (inserted.error().kind == StoreError::Kind::Conflict) {
      std::cerr << "devauth client add: a client with the id '" << options.id
                << "' already exists; remove it first with `devauth client remove`\n";
    } else {
      std::cerr << "devauth client add: cannot store the client: " << inserted.error().message
                << "\n";
    }
    return kExitFailure;
  }

  std::cerr << "Added " << toString(client->type) << " client '" << client->id << "'.\n";
  if (!secret.empty()) {
    // Only the hash is stored, so this is the one chance to copy the secret. It goes to stdout
    // alone, so that `devauth client add ... > secret.txt` captures exactly the secret.
    std::cerr << "Its client secret is printed on stdout, only this once.\n";
    std::cout << secret << std::endl;
  }
  return kExitOk;
}

int runClientUpdate(const ClientUpdateOptions& options) {
  auto store = openMigratedStore(options.store);
  if (!store) {
    std::cerr << "devauth client update: " << store.error() << "\n";
    return kExitFailure;
  }
  auto found = store.value()->findClient(options.id);
  if (!found) {
    std::cerr << "devauth client update: cannot read the client: " << found.error().message << "\n";
    return kExitFailure;
  }
  if (!found->has_value()) {
    std::cerr << "devauth client update: client '" << options.id << "' not found\n";
    return kExitFailure;
  }

  auto settings = applyCodeOptions((*found)->code_settings, options.codes);
  if (settings && (*found)->device_grant) {
    auto odds = checkCodeOdds(options.id, *settings, options.codes);
    if (!odds) {
      settings = unexpected(odds.error());
    }
  }
  if (!settings) {
    std::cerr << "devauth client update: " << settings.error() << "\n";
    return kExitFailure;
  }

  auto stored = store.value()->setClientCodeSettings(options.id, *settings);
  if (stored && stored.value()) {
    if (const auto relay_tokens = options.relay_tokens.requested()) {
      stored = store.value()->setClientAcceptsRelayedTokens(options.id, *relay_tokens);
    }
  }
  if (!stored || !stored.value()) {
    std::cerr << "devauth client update: cannot store the client '" << options.id
              << "': " << (stored ? "it was removed" : stored.error().message) << "\n";
    return kExitFailure;
  }
  std::cerr << "Updated client '" << options.id << "'.\n";
  return kExitOk;
}

std::string describeFlags(const Client& client) {
  std::vector<std::string> flags;
  flags.push_back(client.device_grant ? "device-grant" : "no-device-grant");
  if (client.may_approve) {
    flags.push_back("may-approve");
  }
  if (client.refresh_grant) {
    flags.push_back("refresh-tokens");
  }
  if (client.may_introspect) {
    flags.push_back("may-introspect");
  }
  if (client.accepts_relayed_tokens) {
    flags.push_back("relay-tokens");
  }
  flags.push_back(fmt::format("token-ttl={}s", client.access_token_ttl.count()));
  if (client.access_token_format == AccessTokenFormat::Jwt) {
    flags.push_back("jwt");
  }
  return fmt::format("{}", fmt::join(flags, ","));
}

std::string describeScopes(const Client& client) {
  if (client.default_scopes == client.allowed_scopes) {
    return joinScope(client.allowed_scopes);
  }
  return fmt::format("{} (default: {})", joinScope(client.allowed_scopes),
                     joinScope(client.default_scopes));
}

int runClientList(const std::string& location) {
  auto store = openMigratedStore(location);
  if (!store) {
    std::cerr << "devauth client list: " << store.error() << "\n";
    return kExitFailure;
  }
  auto clients = store.value()->listClients();
  if (!clients) {
    std::cerr << "devauth client list: cannot read the clients: " << clients.error().message
              << "\n";
    return kExitFailure;
  }

  std::vector<std::vector<std::string>> rows = {{"ID", "TYPE", "NAME", "SCOPES", "FLAGS"}};
  for (const auto& client : clients.value()) {
    rows.push_back({client.id, std::string(toString(client.type)), client.name,
                    describeScopes(client), describeFlags(client)});
  }
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], widths[i]) : row[i];
    }
    std::cout << line << "\n";
  }
  return kExitOk;
}

int runClientRemove(const ClientIdOptions& options) {
  auto store = openMigratedStore(options.store);
  if (!store) {
    std::cerr << "devauth client remove: " << store.error() << "\n";
    return kExitFailure;
  }
  auto removed = store.value()->removeClient(options.id);
  if (!removed) {
    std::cerr << "devauth client remove: cannot remove the client '" << options.id
              << "': " << removed.error().message << "\n";
    return kExitFailure;
  }
  if (!removed.value()) {
    std::cerr << "devauth client remove: client '" << options.id << "' not found\n";
    return kExitFailure;
  }
  std::cerr << "Removed client '" << options.id << "'.\n";
  return kExitOk;
}

void addStoreOption(CLI::App& command, std::string& store) {
  command
      .add_option("--store", store,
                  "Store location: a SQLite file path, or postgresql://USER@HOST/DATABASE")
      ->capture_default_str();
}

void addCodeSettingOptions(CLI::App& command, CodeSettingOptions& options) {
  command.add_option("--user-code-profile", options.user_code_profile,
                     "User codes of the client: letters:LENGTH:GROUP or "
                     "digits:LENGTH:GROUP[:damm], for example digits:12:3:damm "
                     "(default: letters:8:4)");
  command
      .add_option("--expires-in", options.expires_in,
                  "Lifetime of the client's codes, in seconds; 0 uses the server's "
                  "--expires-in")
      ->check(CLI::NonNegativeNumber);
  command
      .add_option("--interval", options.interval,
                  "Minimum time between the client's polls, in seconds; 0 uses the server's "
                  "--interval")
      ->check(CLI::NonNegativeNumber);
  command.add_option("--config", options.config_file,
                     "The server's TOML configuration, whose limits the guessing odds of the "
                     "user codes are checked against (default: the built-in limits and "
                     "DEVAUTH_* variables)");
}

void addRelayTokenOptions(CLI::App& command, RelayTokenOptions& options) {
  options.accept = command.add_flag(
      "--relay-tokens", options.accept_flag,
      "Let trusted backends relay their own access token to this client's devices through the "
      "approval API; each device authorization then costs an X25519 key derivation");
  options.reject =
      command
          .add_flag("--no-relay-tokens", options.reject_flag,
                    "Do not accept relayed tokens for this client (the default for a new client)")
          ->excludes(options.accept);
}

void addClientAddCommand(CLI::App& client, int& exit_code) {
  auto options = std::make_shared<ClientAddOptions>();
  CLI::App* add = client.add_subcommand("add", "Register a client");
  add->add_option("ID", options->id, "Client id that devices send as client_id")->required();
  add->add_option("--name", options->name,
                  "Name shown to people on the consent page (default: the id)");
  add->add_flag("--confidential", options->confidential,
                "Create a confidential client with a secret, printed once on stdout");
  add->add_option("--scopes", options->scopes,
                  "Space-separated scopes the client may request, for example \"read write\"");
  options->default_scopes_option = add->add_option(
      "--default-scopes", options->default_scopes,
      "Space-separated scopes granted when a request names none (default: all of --scopes)");
  add->add_flag("--may-approve", options->may_approve,
                "Allow the client to approve or deny codes through the approval API; needs "
                "--confidential");
  add->add_flag("--no-device-grant", options->no_device_grant,
                "Do not allow the device authorization grant for this client");
  add->add_flag("--refresh-tokens", options->refresh_tokens,
                "Allow the refresh token grant: token responses carry a refresh token, rotated "
                "at every use");
  add->add_flag("--may-introspect", options->may_introspect,
                "Allow the client to call the introspection endpoint, as a resource server "
                "does; needs --confidential");
  add->add_option("--token-ttl", options->token_ttl, "Access token lifetime, in seconds")
      ->capture_default_str()
      ->check(CLI::Range(60L, 7L * 86400L));
  add->add_option("--access-token-format", options->access_token_format,
                  "opaque: random strings that only this server can check; jwt: JWTs signed "
                  "as RFC 9068 describes, which resource servers verify with the JWKS")
      ->capture_default_str()
      ->check(CLI::IsMember({"opaque", "jwt"}));
  addRelayTokenOptions(*add, options->relay_tokens);
  addCodeSettingOptions(*add, options->codes);
  addStoreOption(*add, options->store);
  add->callback([options, &exit_code] { exit_code = runClientAdd(*options); });
}

void addClientUpdateCommand(CLI::App& client, int& exit_code) {
  auto options = std::make_shared<ClientUpdateOptions>();
  CLI::App* update = client.add_subcommand(
      "update",
      "Change a client's user code profile, code lifetime, poll interval or relayed tokens");
  update->add_option("ID", options->id, "Client id to update")->required();
  addRelayTokenOptions(*update, options->relay_tokens);
  addCodeSettingOptions(*update, options->codes);
  addStoreOption(*update, options->store);
  update->callback([options, &exit_code] { exit_code = runClientUpdate(*options); });
}

}  // namespace

void addClientCommands(CLI::App& app, int& exit_code) {
  CLI::App* client = app.add_subcommand("client", "Manage registered clients");
  client->require_subcommand(1);
  addClientAddCommand(*client, exit_code);
  addClientUpdateCommand(*client, exit_code);

  auto list_store = std::make_shared<std::string>(kDefaultStore);
  CLI::App* list = client->add_subcommand("list", "List clients; secrets are never shown");
  addStoreOption(*list, *list_store);
  list->callback([list_store, &exit_code] { exit_code = runClientList(*list_store); });

  auto remove_options = std::make_shared<ClientIdOptions>();
  CLI::App* remove = client->add_subcommand("remove", "Remove a client");
  remove->add_option("ID", remove_options->id, "Client id to remove")->required();
  addStoreOption(*remove, remove_options->store);
  remove->callback([remove_options, &exit_code] { exit_code = runClientRemove(*remove_options); });
}

}  // namespace devauth::cli

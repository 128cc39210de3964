// Administrative commands on the store that `devauth serve` uses:
//   devauth authorization list | cancel    pending device authorizations
//   devauth grant list | revoke            a user's approved authorizations and their tokens
//   devauth client show | rotate-secret    one registered client
// Each writes an audit line (audit=true) to stderr for every change it makes.

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/client.h"
#include "core/random.h"
#include "core/scope.h"
#include "core/secret.h"
#include "core/user_code.h"
#include "server/logging.h"

namespace devauth::cli {
namespace {

// The subject recorded on an authorization that an administrator cancelled.
inline constexpr std::string_view kAdminSubject = "devauth-admin";

struct AdminOptions {
  std::string store{kDefaultStore};
  std::string client_id;
  std::string user_code;
  std::string authorization_id;
  std::string username;
  bool all = false;
};

std::string formatTime(TimePoint time) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::floor<std::chrono::seconds>(time));
}

void printTable(const std::vector<std::vector<std::string>>& rows) {
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
}

// Opens the store and sets up logging to stderr for audit lines; prints the error on failure.
std::unique_ptr<Store> openForCommand(std::string_view command, const std::string& location) {
  configureLogging("info", "text");
  auto store = openMigratedStore(location);
  if (!store) {
    std::cerr << "devauth " << command << ": " << store.error() << "\n";
    return nullptr;
  }
  return std::move(store).value();
}

void addStoreOption(CLI::App& command, AdminOptions& options) {
  command
      .add_option("--store", options.store,
                  "Store location: a SQLite file path, or postgresql://USER@HOST/DATABASE")
      ->capture_default_str();
}

// --- devauth authorization ---------------------------------------------------------------

int runAuthorizationList(const AdminOptions& options) {
  auto store = openForCommand("authorization list", options.store);
  if (!store) {
    return kExitFailure;
  }
  const std::optional<std::string> client =
      options.client_id.empty() ? std::nullopt : std::optional(options.client_id);
  auto live = store->listLiveAuthorizations(client, SystemClock().now());
  if (!live) {
    std::cerr << "devauth authorization list: cannot read the authorizations: "
              << live.error().message << "\n";
    return kExitFailure;
  }
  // FROM is the address the device requested the code from, and SIGNED IN the account of the
  // person who entered the user code and has not decided yet (RFC 8628 §5.4).
  std::vector<std::vector<std::string>> rows = {
      {"ID", "CLIENT", "SCOPE", "CREATED", "EXPIRES", "INTERVAL", "FROM", "SIGNED IN"}};
  for (const auto& authorization : *live) {
    rows.push_back({authorization.id, authorization.client_id, authorization.scope,
                    formatTime(authorization.created_at), formatTime(authorization.expires_at),
                    fmt::format("{}s", authorization.interval.count()),
                    authorization.request_address.empty() ? "-" : authorization.request_address,
                    authorization.bound_subject.value_or("-")});
  }
  printTable(rows);
  return kExitOk;
}

// The pending authorizations that the options select: the one with the user code or id, or
// every one of the client.
Expected<std::vector<Authorization>, std::string> selectPending(Store& store,
                                                                const AdminOptions& options,
                                                                TimePoint now) {
  if (!options.user_code.empty()) {
    const auto canonical = normalizeUserCode(options.user_code);
    if (!canonical) {
      return unexpected(
          fmt::format("'{}' is not a user code: expected 6 to 12 letters from {} or 6 to 15 "
                      "digits, dashes allowed",
                      options.user_code, kUserCodeAlphabet));
    }
    auto found = store.findByUserCode(hashSecret(*canonical));
    if (!found) {
      return unexpected("cannot read the authorization: " + found.error().message);
    }
    if (!found->has_value() || (*found)->state != AuthorizationState::Pending ||
        (*found)->isExpired(now)) {
      return std::vector<Authorization>{};
    }
    return std::vector<Authorization>{**found};
  }

  const std::optional<std::string> client =
      options.client_id.empty() ? std::nullopt : std::optional(options.client_id);
  auto live = store.listLiveAuthorizations(client, now);
  if (!live) {
    return unexpected("cannot read the authorizations: " + live.error().message);
  }
  std::vector<Authorization> selected;
  for (auto& authorization : *live) {
    if (options.authorization_id.empty() || authorization.id == options.authorization_id) {
      selected.push_back(std::move(authorization));
    }
  }
  return selected;
}

// Cancelling denies: the device's next poll gets access_denied (RFC 8628 §3.5).
int runAuthorizationCancel(const AdminOptions& options) {
  const int selectors = static_cast<int>(!options.client_id.empty()) +
                        static_cast<int>(!options.user_code.empty()) +
                        static_cast<int>(!options.authorization_id.empty());
  if (selectors != 1) {
    std::cerr << "devauth authorization cancel: give exactly one of --client, --user-code or "
                 "--id\n";
    return kExitFailure;
  }
  auto store = openForCommand("authorization cancel", options.store);
  if (!store) {
    return kExitFailure;
  }
  const TimePoint now = SystemClock().now();
  auto selected = selectPending(*store, options, now);
  if (!selected) {
    std::cerr << "devauth authorization cancel: " << selected.error() << "\n";
    return kExitFailure;
  }
  if (selected->empty()) {
    std::cerr << "devauth authorization cancel: no pending authorization matches\n";
    return kExitFailure;
  }

  std::size_t cancelled = 0;
  for (const auto& authorization : *selected) {
    auto denied = store->cancelAuthorization(authorization.id, std::string(kAdminSubject), now);
    if (!denied) {
      std::cerr << "devauth authorization cancel: cannot cancel " << authorization.id << ": "
                << denied.error().message << "\n";
      return kExitFailure;
    }
    if (*denied) {
      ++cancelled;
      spdlog::info("event=authorization_cancelled audit=true authorization_id={} client_id={}",
                   authorization.id, authorization.client_id);
    }
  }
  std::cout << "Cancelled " << cancelled << " pending authorization" << (cancelled == 1 ? "" : "s")
            << ".\n";
  return kExitOk;
}

void addAuthorizationCommands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand(
      "authorization", "List or cancel pending device authorizations (codes not yet approved)");
  group->require_subcommand(1);

  auto list_options = std::make_shared<AdminOptions>();
  CLI::App* list = group->add_subcommand(
      "list",
      "List pending, unexpired authorizations: id, client, expiry (UTC), the device's address and "
      "the account of a person who entered the code");
  list->add_option("--client", list_options->client_id, "Only the authorizations of this client");
  addStoreOption(*list, *list_options);
  list->callback([list_options, &exit_code] { exit_code = runAuthorizationList(*list_options); });

  auto cancel_options = std::make_shared<AdminOptions>();
  CLI::App* cancel = group->add_subcommand(
      "cancel",
      "Cancel pending authorizations: their devices' next poll gets access_denied. Exits 1 when "
      "none matches");
  cancel->add_option("--client", cancel_options->client_id,
                     "Cancel every pending authorization of this client");
  cancel->add_option("--user-code", cancel_options->user_code,
                     "Cancel the authorization with this user code, as shown to the person");
  cancel->add_option("--id", cancel_options->authorization_id,
                     "Cancel the authorization with this id (from authorization list)");
  addStoreOption(*cancel, *cancel_options);
  cancel->callback(
      [cancel_options, &exit_code] { exit_code = runAuthorizationCancel(*cancel_options); });
}

// --- devauth grant -----------------------------------------------------------------------

std::optional<User> findUserOrReport(Store& store, std::string_view command,
                                     const std::string& username) {
  auto user = store.findUser(username);
  if (!user) {
    std::cerr << "devauth " << command << ": cannot read the user: " << user.error().message
              << "\n";
    return std::nullopt;
  }
  if (!user->has_value()) {
    std::cerr << "devauth " << command << ": no user named '" << username << "'\n";
    return std::nullopt;
  }
  return **user;
}

int runGrantList(const AdminOptions& options) {
  auto store = openForCommand("grant list", options.store);
  if (!store) {
    return kExitFailure;
  }
  const auto user = findUserOrReport(*store, "grant list", options.username);
  if (!user) {
    return kExitFailure;
  }
  auto grants = store->listUserGrants(user->subject);
  if (!grants) {
    std::cerr << "devauth grant list: cannot read the grants: " << grants.error().message << "\n";
    return kExitFailure;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "CLIENT", "SCOPE", "STATE", "APPROVED", "TOKENS", "TOKENS EXPIRE"}};
  for (const auto& grant : *grants) {
    const Authorization& authorization = grant.authorization;
    std::string expiry = "-";
    if (!grant.tokens.empty()) {
      expiry = formatTime(std::max_element(grant.tokens.begin(), grant.tokens.end(),
                                           [](const IssuedToken& a, const IssuedToken& b) {
                                             return a.expires_at < b.expires_at;
                                           })
                              ->expires_at);
    }
    rows.push_back({authorization.id, authorization.client_id, authorization.scope,
                    std::string(toString(authorization.state)),
                    authorization.decided_at ? formatTime(*authorization.decided_at) : "-",
                    std::to_string(grant.tokens.size()), expiry});
  }
  printTable(rows);
  return kExitOk;
}

int runGrantRevoke(const AdminOptions& options) {
  if (options.all == !options.authorization_id.empty()) {
    std::cerr << "devauth grant revoke: give either an authorization id or --all\n";
    return kExitFailure;
  }
  auto store = openForCommand("grant revoke", options.store);
  if (!store) {
    return kExitFailure;
  }
  const auto user = findUserOrReport(*store, "grant revoke", options.username);
  if (!user) {
    return kExitFailure;
  }

  std::vector<std::string> ids;
  if (options.all) {
    auto grants = store->listUserGrants(user->subject);
    if (!grants) {
      std::cerr << "devauth grant revoke: cannot read the grants: " << grants.error().message
                << "\n";
      return kExitFailure;
    }
    for (const auto& grant : *grants) {
      ids.push_back(grant.authorization.id);
    }
  } else {
    ids.push_back(options.authorization_id);
  }

  std::size_t revoked = 0;
  for (const auto& id : ids) {
    auto done = store->revokeUserGrant(id, user->subject);
    if (!done) {
      std::cerr << "devauth grant revoke: cannot revoke " << id << ": " << done.error().message
                << "\n";
      return kExitFailure;
    }
    if (*done) {
      // The refresh tokens of the grant, and access tokens minted from them, end with it
      // (RFC 9700 §4.14.2). revokeUserGrant checked above that the grant is the user's.
      auto family = store->revokeGrant(id, SystemClock().now());
      if (!family) {
        std::cerr << "devauth grant revoke: cannot revoke the refresh tokens of " << id << ": "
                  << family.error().message << "\n";
        return kExitFailure;
      }
      ++revoked;
      spdlog::info("event=grant_revoked audit=true authorization_id={} subject={}", id,
                   user->subject);
    }
  }
  if (!options.all && revoked == 0) {
    std::cerr << "devauth grant revoke: user '" << options.username << "' has no grant "
              << options.authorization_id << "\n";
    return kExitFailure;
  }
  std::cout << "Revoked " << revoked << " grant" << (revoked == 1 ? "" : "s") << ".\n";
  return kExitOk;
}

void addGrantCommands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.add_subcommand(
      "grant", "List or revoke a user's grants: approved authorizations and their tokens");
  group->require_subcommand(1);

  auto list_options = std::make_shared<AdminOptions>();
  CLI::App* list = group->add_subcommand(
      "list", "List the user's approved and redeemed authorizations, newest first (times in UTC)");
  list->add_option("USERNAME", list_options->username, "The user")->required();
  addStoreOption(*list, *list_options);
  list->callback([list_options, &exit_code] { exit_code = runGrantList(*list_options); });

  auto revoke_options = std::make_shared<AdminOptions>();
  CLI::App* revoke = group->add_subcommand(
      "revoke",
      "Revoke grants: delete their tokens, and deny those that the device has not redeemed yet");
  revoke->add_option("USERNAME", revoke_options->username, "The user")->required();
  revoke->add_option("AUTHORIZATION_ID", revoke_options->authorization_id,
                     "The grant to revoke (from grant list)");
  revoke->add_flag("--all", revoke_options->all, "Revoke every grant of the user");
  addStoreOption(*revoke, *revoke_options);
  revoke->callback([revoke_options, &exit_code] { exit_code = runGrantRevoke(*revoke_options); });
}

// --- devauth client show | rotate-secret -------------------------------------------------

std::optional<Client> findClientOrReport(Store& store, std::string_view command,
                                         const std::string& client_id) {
  auto client = store.findClient(client_id);
  if (!client) {
    std::cerr << "devauth " << command << ": cannot read the client: " << client.error().message
              << "\n";
    return std::nullopt;
  }
  if (!client->has_value()) {
    std::cerr << "devauth " << command << ": no client with id '" << client_id << "'\n";
    return std::nullopt;
  }
  return **client;
}

// A per-client lifetime, or the note that the server's setting applies.
std::string describeServerDefault(const std::optional<seconds>& value) {
  return value ? fmt::format("{} seconds", value->count()) : "the server's setting";
}

int runClientShow(const AdminOptions& options) {
  auto store = openForCommand("client show", options.store);
  if (!store) {
    return kExitFailure;
  }
  const auto client = findClientOrReport(*store, "client show", options.client_id);
  if (!client) {
    return kExitFailure;
  }
  auto live = store->countLiveAuthorizations(client->id, SystemClock().now());
  if (!live) {
    std::cerr << "devauth client show: cannot count the authorizations: " << live.error().message
              << "\n";
    return kExitFailure;
  }
  std::cout << "id:                    " << client->id << "\n"
            << "name:                  " << client->name << "\n"
            << "type:                  " << toString(client->type) << "\n"
            << "has secret:            " << (client->secret_hash ? "yes" : "no") << "\n"
            << "allowed scopes:        " << joinScope(client->allowed_scopes) << "\n"
            << "default scopes:        " << joinScope(client->default_scopes) << "\n"
            << "device grant:          " << (client->device_grant ? "yes" : "no") << "\n"
            << "may approve:           " << (client->may_approve ? "yes" : "no") << "\n"
            << "relayed tokens:        " << (client->accepts_relayed_tokens ? "yes" : "no") << "\n"
            << "access token lifetime: " << client->access_token_ttl.count() << " seconds\n"
            << "user code profile:     " << toString(client->code_settings.user_code_profile)
            << "\n"
            << "code lifetime:         "
            << describeServerDefault(client->code_settings.device_code_ttl) << "\n"
            << "poll interval:         "
            << describeServerDefault(client->code_settings.poll_interval) << "\n"
            << "created:               " << formatTime(client->created_at) << "\n"
            << "pending authorizations: " << *live << "\n";
  return kExitOk;
}

int runClientRotateSecret(const AdminOptions& options) {
  auto store = openForCommand("client rotate-secret", options.store);
  if (!store) {
    return kExitFailure;
  }
  const auto client = findClientOrReport(*store, "client rotate-secret", options.client_id);
  if (!client) {
    return kExitFailure;
  }
  if (client->type != ClientType::Confidential) {
    std::cerr << "devauth client rotate-secret: client '" << client->id
              << "' is public and has no secret\n";
    return kExitFailure;
  }

  CsprngRandom random;
  const std::string secret = generateSecret(random);
  auto stored = store->setClientSecret(client->id, hashSecret(secret));
  if (!stored || !*stored) {
    std::cerr << "devauth client rotate-secret: cannot store the new secret"
              << (stored ? "" : ": " + stored.error().message) << "\n";
    return kExitFailure;
  }
  spdlog::info("event=client_secret_rotated audit=true client_id={}", client->id);
  // The only time the secret is shown: the store keeps its hash.
  std::cout << secret << std::endl;
  return kExitOk;
}

void addClientAdminCommands(CLI::App& app, int& exit_code) {
  CLI::App* group = app.get_subcommand("client");

  auto show_options = std::make_shared<AdminOptions>();
  CLI::App* show = group->add_subcommand(
      "show", "Show one client's settings and its number of pending authorizations");
  show->add_option("ID", show_options->client_id, "The client id")->required();
  addStoreOption(*show, *show_options);
  show->callback([show_options, &exit_code] { exit_code = runClientShow(*show_options); });

  auto rotate_options = std::make_shared<AdminOptions>();
  CLI::App* rotate = group->add_subcommand(
      "rotate-secret",
      "Give a confidential client a new random secret, printed once on stdout; the old one stops "
      "working at once");
  rotate->add_option("ID", rotate_options->client_id, "The client id")->required();
  addStoreOption(*rotate, *rotate_options);
  rotate->callback(
      [rotate_options, &exit_code] { exit_code = runClientRotateSecret(*rotate_options); });
}

}  // namespace

void addAdminCommands(CLI::App& app, int& exit_code) {
  addAuthorizationCommands(app, exit_code);
  addGrantCommands(app, exit_code);
  addClientAdminCommands(app, exit_code);
}

}  // namespace devauth::cli

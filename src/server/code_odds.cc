#include "server/code_odds.h"

#include <fmt/format.h>

namespace devauth {
namespace {

// The windows of length `window` that one lifetime can overlap: a lifetime that starts just
// before a window ends touches one more window than its length alone covers.
std::int64_t windowsPerLifetime(seconds lifetime, seconds window) {
  const std::int64_t length = lifetime.count();
  const std::int64_t width = std::max<std::int64_t>(window.count(), 1);
  return (length + width - 1) / width + 1;
}

}  // namespace

std::optional<GuessingOdds> guessingOdds(const ClientCodeSettings& settings, const Config& config) {
  const AbuseLimits& limits = config.limits;
  const RateLimit& budget = limits.user_code_failures_per_address.max_count > 0
                                ? limits.user_code_failures_per_address
                                : limits.user_code_failures_total;
  if (budget.max_count <= 0 || limits.max_live_authorizations_per_client <= 0) {
    return std::nullopt;
  }
  const seconds lifetime = settings.device_code_ttl.value_or(config.device_code_ttl);

  GuessingOdds odds;
  odds.guesses = budget.max_count * windowsPerLifetime(lifetime, budget.window);
  odds.live_codes = limits.max_live_authorizations_per_client;
  odds.code_space = codeSpace(settings.user_code_profile);
  odds.probability =
      static_cast<double>(odds.guesses) * static_cast<double>(odds.live_codes) / odds.code_space;
  return odds;
}

Expected<void, std::string> checkGuessingOdds(const std::string& client_id,
                                              const ClientCodeSettings& settings,
                                              const Config& config) {
  const auto odds = guessingOdds(settings, config);
  if (!odds || odds->probability <= kMaxGuessingOdds) {
    return {};
  }
  const seconds lifetime = settings.device_code_ttl.value_or(config.device_code_ttl);
  return unexpected(fmt::format(
      "the user codes of client '{}' ({}, {:.4g} codes, {} s lifetime) are too easy to guess: "
      "{} wrong codes per address per lifetime x {} live codes / {:.4g} codes = odds of "
      "{:.2g}, above the limit of {:g} (1 in 10,000). Use a longer code (more characters, or "
      "letters instead of digits), a shorter --expires-in for the client, or a lower "
      "--user-code-failures-per-address or --max-live-authorizations for the server",
      client_id, toString(settings.user_code_profile), odds->code_space, lifetime.count(),
      odds->guesses, odds->live_codes, odds->code_space, odds->probability, kMaxGuessingOdds));
}

Expected<std::vector<std::string>, std::string> checkStoredClientsOdds(Store& store,
                                                                       const Config& config) {
  auto clients = store.listClients();
  if (!clients) {
    return unexpected("cannot read the clients: " + clients.error().message);
  }
  std::vector<std::string> problems;
  for (const Client& client : *clients) {
    if (!client.device_grant) {
      continue;
    }
    auto checked = checkGuessingOdds(client.id, client.code_settings, config);
    if (!checked) {
      problems.push_back(checked.error());
    }
  }
  return problems;
}

}  // namespace devauth

#pragma once

// The odds that guessing finds a live user code of a client (RFC 8628 §5.1), and the check that
// keeps them at or below kMaxGuessingOdds. docs/user-codes.md derives the formula:
//
//   P = A x L / S
//
// A is the number of wrong codes one source address may enter during one code lifetime. It is
// the per-address budget times the number of budget windows a lifetime overlaps,
// ceil(lifetime / window) + 1. When the per-address budget is off, the all-sources budget counts. L
// is the cap on a client's live authorizations. S is the code space of the client's profile without
// its check digit.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/client.h"
#include "core/expected.h"
#include "server/config.h"
#include "store/store.h"

namespace devauth {

// The highest accepted odds: 1 in 10,000 per source address per code lifetime.
inline constexpr double kMaxGuessingOdds = 1e-4;

struct GuessingOdds {
  // A: wrong codes one address may enter during one lifetime.
  std::int64_t guesses = 0;
  // L: live codes of the client.
  std::int64_t live_codes = 0;
  // S: distinct codes of the profile.
  double code_space = 0;
  // P = A x L / S.
  double probability = 0;
};

// The odds for `client` under `config`, or nullopt when they are unbounded because the wrong
// code budgets per address and in total are both off, or the live-authorization cap is off.
std::optional<GuessingOdds> guessingOdds(const ClientCodeSettings& settings, const Config& config);

// Fails with a message that gives the numbers and what to change when the odds of `client_id`
// with `settings` exceed kMaxGuessingOdds. Unbounded odds pass: they mean the operator turned
// the limits off, which start-up reports with a warning.
Expected<void, std::string> checkGuessingOdds(const std::string& client_id,
                                              const ClientCodeSettings& settings,
                                              const Config& config);

// Checks every stored client that may use the device grant, and returns the problems, one for
// each client that fails. A store failure is returned as the error.
Expected<std::vector<std::string>, std::string> checkStoredClientsOdds(Store& store,
                                                                       const Config& config);

}  // namespace devauth

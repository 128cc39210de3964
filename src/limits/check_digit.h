#pragma once

// Codes with a wrong check digit. A digits profile with a Damm check digit
// (core/user_code_profile.h) lets the server tell a mistyped code from a guess. A code whose
// check digit fails cannot be a live code of such a profile. So it gets its own message and does
// not count against the wrong-code budgets of RFC 8628 §5.1.

#include <string_view>

#include "store/store.h"

namespace devauth::limits {

// Whether `canonical` (normalized, core/user_code.h) is a digits code that fails the Damm check
// while some client with the device grant has a checked digits profile of that length. It is
// false when a client has an unchecked digits profile of the same length, because the input
// could then be one of that client's codes and must count as a guess. Reads the clients only
// when the check digit fails.
// NOTE: such inputs spend no budget, so each one costs a read of the whole clients table.
StoreResult<bool> isMistypedCheckDigit(Store& store, std::string_view canonical);

}  // namespace devauth::limits

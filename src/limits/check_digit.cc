#include "limits/check_digit.h"

#include <algorithm>

#include "core/user_code_profile.h"

namespace devauth::limits {

StoreResult<bool> isMistypedCheckDigit(Store& store, std::string_view canonical) {
  const bool digits =
      !canonical.empty() &&
      std::all_of(canonical.begin(), canonical.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || passesDammCheck(canonical)) {
    return false;
  }

  auto clients = store.listClients();
  if (!clients) {
    return unexpected(clients.error());
  }
  bool checked = false;
  bool unchecked = false;
  for (const Client& client : *clients) {
    const UserCodeProfile& profile = client.code_settings.user_code_profile;
    if (!client.device_grant || profile.charset != UserCodeCharset::Digits ||
        profile.length != canonical.size()) {
      continue;
    }
    (profile.check_digit == CheckDigit::Damm ? checked : unchecked) = true;
  }
  return checked && !unchecked;
}

}  // namespace devauth::limits

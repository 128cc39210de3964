// Fuzzes user-code normalisation (RFC 8628 §6.1): a result is always kUserCodeLength characters
// of the alphabet, and normalising its display form gives it back.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/user_code.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto canonical = devauth::normalizeUserCode(input);
  if (!canonical) {
    return 0;
  }
  if (canonical->size() != devauth::kUserCodeLength ||
      canonical->find_first_not_of(devauth::kUserCodeAlphabet) != std::string::npos) {
    std::abort();
  }
  const auto again = devauth::normalizeUserCode(devauth::formatUserCode(*canonical));
  if (!again || *again != *canonical) {
    std::abort();
  }
  return 0;
}

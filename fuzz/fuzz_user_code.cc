// Fuzzes user-code normalisation (RFC 8628 §6.1): a result is either 6 to 12 characters of the
// letter alphabet or 6 to 15 digits, and normalising its display form gives it back.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/user_code.h"
#include "core/user_code_profile.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto canonical = devauth::normalizeUserCode(input);
  if (!canonical) {
    return 0;
  }
  const bool letters =
      canonical->find_first_not_of(devauth::kUserCodeAlphabet) == std::string::npos;
  const bool digits = canonical->find_first_not_of("0123456789") == std::string::npos;
  const std::size_t max_length =
      digits ? devauth::kMaxDigitCodeLength : devauth::kMaxLetterCodeLength;
  if (letters == digits || canonical->size() < devauth::kMinUserCodeLength ||
      canonical->size() > max_length) {
    std::abort();
  }
  const auto again = devauth::normalizeUserCode(devauth::formatUserCode(*canonical));
  if (!again || *again != *canonical) {
    std::abort();
  }
  return 0;
}

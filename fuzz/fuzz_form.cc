// Fuzzes the form and query parser (RFC 6749 Appendix B) and the percent-encoding round trip.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../tests/support/form_reference.h"
#include "http/form.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const auto form = devauth::http::parseForm(text);
  // parseForm must accept and decode exactly what Boost.URL's query parser does.
  const auto expected = devauth::testing::parseFormWithBoostUrl(std::string(text));
  if (form.hasValue() != expected.has_value() || (form && form->entries != *expected)) {
    std::abort();
  }
  if (form) {
    for (const auto& [name, value] : form->entries) {
      (void)form->get(name);
    }
    (void)form->firstRepeatedName();
  }

  // Every decoded value must survive an encode and decode unchanged.
  const auto decoded = devauth::http::formDecode(text);
  if (decoded) {
    const auto again = devauth::http::formDecode(devauth::http::formEncode(*decoded));
    if (!again || *again != *decoded) {
      std::abort();
    }
  }
  return 0;
}

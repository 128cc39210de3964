#include "store/store_location.h"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

namespace devauth {

std::string redactStoreLocation(const std::string& location) {
  auto url = boost::urls::parse_uri(location);
  if (!url || !url->has_password()) {
    return location;
  }
  boost::urls::url redacted(*url);
  redacted.remove_password();
  return std::string(redacted.buffer());
}

}  // namespace devauth

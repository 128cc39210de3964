#include "http/message.h"

namespace devauth::http {

std::string_view Request::path() const {
  const std::string_view target = message.target();
  return target.substr(0, target.find('?'));
}

std::string_view Request::query() const {
  const std::string_view target = message.target();
  const auto mark = target.find('?');
  return mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
}

}  // namespace devauth::http

#include "http/request_origin.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>

namespace devauth::http {
namespace {

namespace ip = boost::asio::ip;

constexpr std::size_t kIpv6PrefixBytes = 8;  // a /64 prefix

bool isPrintableAscii(char c) { return c > ' ' && c < '\x7f'; }

}  // namespace

std::string canonicalAddress(std::string_view text) {
  boost::system::error_code error;
  const ip::address address = ip::make_address(std::string(text), error);
  if (error) {
    return {};
  }
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return ip::make_address_v4(ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

bool sameNetwork(std::string_view first, std::string_view second) {
  boost::system::error_code first_error;
  boost::system::error_code second_error;
  const ip::address a = ip::make_address(std::string(first), first_error);
  const ip::address b = ip::make_address(std::string(second), second_error);
  if (first_error || second_error || a.is_v4() != b.is_v4()) {
    return false;
  }
  if (a.is_v4()) {
    return a == b;
  }
  const auto a_bytes = a.to_v6().to_bytes();
  const auto b_bytes = b.to_v6().to_bytes();
  return std::equal(a_bytes.begin(), a_bytes.begin() + kIpv6PrefixBytes, b_bytes.begin());
}

std::string shortenUserAgent(std::string_view user_agent) {
  std::string shortened;
  bool pending_space = false;
  for (const char c : user_agent) {
    if (!isPrintableAscii(c)) {
      pending_space = !shortened.empty();
      continue;
    }
    if (pending_space) {
      shortened += ' ';
      pending_space = false;
    }
    shortened += c;
    if (shortened.size() > kMaxUserAgentLength) {
      shortened.resize(kMaxUserAgentLength);
      if (shortened.back() == ' ') {
        shortened.pop_back();
      }
      return shortened + "...";
    }
  }
  return shortened;
}

}  // namespace devauth::http

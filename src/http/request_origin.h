#pragma once

// Where a request came from, in the form the consent page shows it: the client's IP address
// and a short, display-safe form of its User-Agent header.

#include <cstddef>
#include <string>
#include <string_view>

namespace devauth::http {

// The longest User-Agent that shortenUserAgent keeps, in bytes, before the "..." it appends.
inline constexpr std::size_t kMaxUserAgentLength = 80;

// Returns the IP address `text` in canonical text form (RFC 5952 for IPv6), with an
// IPv4-mapped IPv6 address written as IPv4. Returns "" when `text` is not an IP address, for
// example a malformed X-Forwarded-For entry.
std::string canonicalAddress(std::string_view text);

// Whether two canonical addresses are on the same network as far as the consent page can tell.
// For IPv4 that is the same address, which a household behind one NAT shares. For IPv6 it is
// the same /64 prefix, because devices on one LAN differ only in their interface identifiers.
// False when either is "".
bool sameNetwork(std::string_view first, std::string_view second);

// Shortens a User-Agent header value (RFC 9110 §10.1.5) for display. Every byte outside
// printable ASCII becomes a space, which drops control characters and the Unicode
// bidirectional overrides that could reorder the text on the page. Runs of spaces are folded
// into one, the ends are trimmed, and a value longer than kMaxUserAgentLength is cut there
// and ends with "...". The result still needs HTML escaping.
std::string shortenUserAgent(std::string_view user_agent);

}  // namespace devauth::http

#pragma once

// The Prefer request header (RFC 7240).

#include <cstdint>
#include <optional>

#include "http/message.h"

namespace devauth::http {

// The seconds of the `wait` preference (RFC 7240 §4.3) in the request's Prefer fields, or
// nullopt when there is none or its value is not a non-negative decimal integer. A value above
// 2^31 - 1 counts as 2^31 - 1. When `wait` appears more than once, the first one counts
// (RFC 7240 §2).
std::optional<std::uint32_t> preferredWait(const RawRequest& message);

}  // namespace devauth::http

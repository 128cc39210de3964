#pragma once

// Store locations in messages and logs.

#include <string>

namespace devauth {

// Returns `location` without the password of a URL-style location such as
// `postgresql://user:password@host/db`, so that it can be logged or shown. Other locations come
// back unchanged.
std::string redactStoreLocation(const std::string& location);

}  // namespace devauth

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace devauth {
namespace {

constexpr std::string_view kSqliteScheme = "sqlite";

// Returns the URI scheme (RFC 3986 §3.1: a letter, then letters, digits, '+', '-' or '.',
// then ':') that `location` starts with, or an empty view when it has none.
std::string_view schemeOf(std::string_view location) {
  const std::size_t colon = location.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      !std::isalpha(static_cast<unsigned char>(location[0]))) {
    return {};
  }
  for (const char c : location.substr(0, colon)) {
    const auto byte = static_cast<unsigned char>(c);
    if (!std::isalnum(byte) && c != '+' && c != '-' && c != '.') {
      return {};
    }
  }
  return location.substr(0, colon);
}

StoreResult<std::unique_ptr<Store>> openSqlite(const std::string& path,
                                               const StoreOptions& options) {
  if (path.empty()) {
    return unexpected(StoreError{StoreError::Kind::Internal,
                                 "the store location 'sqlite:' has no file path; use sqlite:PATH"});
  }
  SqliteStoreOptions sqlite_options;
  if (options.sqlite_cache_kib) {
    sqlite_options.cache_kib = *options.sqlite_cache_kib;
  }
  auto store = SqliteStore::open(path, sqlite_options);
  if (!store) {
    return unexpected(store.error());
  }
  return std::unique_ptr<Store>(std::move(store).value());
}

}  // namespace

StoreResult<std::unique_ptr<Store>> openStore(const std::string& location,
                                              const StoreOptions& options) {
  if (location.empty()) {
    return unexpected(StoreError{
        StoreError::Kind::Internal,
        "the store location is empty; use a file path, sqlite:PATH or postgresql://..."});
  }
  // Schemes are case-insensitive (RFC 3986 §3.1).
  std::string scheme(schemeOf(location));
  if (scheme.empty()) {
    return openSqlite(location, options);
  }
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme == kSqliteScheme) {
    return openSqlite(location.substr(kSqliteScheme.size() + 1), options);
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    auto store = PostgresStore::open(location);
    if (!store) {
      return unexpected(store.error());
    }
    return std::unique_ptr<Store>(std::move(store).value());
  }
  // Only the scheme is echoed: the rest of a URL may carry a password.
  return unexpected(StoreError{
      StoreError::Kind::Internal,
      fmt::format("unsupported store location scheme '{}:'; use a file path, sqlite:PATH or "
                  "postgresql://...",
                  scheme)});
}

}  // namespace devauth

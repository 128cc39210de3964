#include "oauth/token_lookup.h"

namespace devauth::oauth {
namespace {

StoreResult<bool> findAccessToken(Store& store, const SecretHash& hash, PresentedToken& found) {
  auto token = store.findToken(hash);
  if (!token) {
    return unexpected(token.error());
  }
  if (!token->has_value()) {
    return false;
  }
  auto grant = store.findGrant((*token)->authorization_id);
  if (!grant) {
    return unexpected(grant.error());
  }
  found.access_token = std::move(*token);
  found.access_token_grant = std::move(*grant);
  return true;
}

StoreResult<bool> findRefreshToken(Store& store, const SecretHash& hash, PresentedToken& found) {
  auto record = store.findRefreshToken(hash);
  if (!record) {
    return unexpected(record.error());
  }
  found.refresh_token = std::move(*record);
  return found.refresh_token.has_value();
}

}  // namespace

StoreResult<PresentedToken> findPresentedToken(Store& store, std::string_view token,
                                               const std::optional<std::string>& hint) {
  PresentedToken found;
  if (token.size() > kMaxPresentedTokenLength) {
    return found;
  }
  const SecretHash hash = hashSecret(token);
  const bool refresh_first = hint == std::string(kRefreshTokenGrantType);
  auto first =
      refresh_first ? findRefreshToken(store, hash, found) : findAccessToken(store, hash, found);
  if (!first) {
    return unexpected(first.error());
  }
  if (*first) {
    return found;
  }
  auto second =
      refresh_first ? findAccessToken(store, hash, found) : findRefreshToken(store, hash, found);
  if (!second) {
    return unexpected(second.error());
  }
  return found;
}

bool isAccessTokenActive(const PresentedToken& found, TimePoint now) {
  if (!found.access_token || now >= found.access_token->expires_at) {
    return false;
  }
  return !found.access_token_grant || isGrantActive(*found.access_token_grant, now);
}

}  // namespace devauth::oauth

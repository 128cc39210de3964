#pragma once

// Finding a token presented to the introspection (RFC 7662) or revocation (RFC 7009) endpoint.

#include <optional>
#include <string>
#include <string_view>

#include "core/grant.h"
#include "store/store.h"

namespace devauth::oauth {

// A stored token: an access token with its grant when it descends from one, or a refresh
// token with its grant. At most one of access_token and refresh_token is set.
struct PresentedToken {
  std::optional<IssuedToken> access_token;
  std::optional<Grant> access_token_grant;
  std::optional<RefreshTokenRecord> refresh_token;
};

// Tokens issued here are at most this long; a longer value is looked up as unknown. The bound
// leaves room for signed JWT access tokens.
inline constexpr std::size_t kMaxPresentedTokenLength = 4096;

// Looks `token` up as the type that `hint` names first, then as the other type: the hint only
// orders the search (RFC 7662 §2.1, RFC 7009 §2.1), and an unknown hint is ignored.
StoreResult<PresentedToken> findPresentedToken(Store& store, std::string_view token,
                                               const std::optional<std::string>& hint);

// Whether an access token is unexpired at `now` and its grant, if any, is active.
bool isAccessTokenActive(const PresentedToken& found, TimePoint now);

}  // namespace devauth::oauth

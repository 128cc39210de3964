#include "core/grant.h"

namespace devauth {

bool isGrantActive(const Grant& grant, TimePoint now) {
  return !grant.revoked_at && now < grant.expires_at;
}

RefreshTokenStatus refreshTokenStatus(const RefreshTokenRecord& record, TimePoint now) {
  if (!isGrantActive(record.grant, now)) {
    return RefreshTokenStatus::Inactive;
  }
  if (record.token.used_at) {
    return RefreshTokenStatus::Replayed;
  }
  if (now >= record.token.expires_at) {
    return RefreshTokenStatus::Inactive;
  }
  return RefreshTokenStatus::Active;
}

}  // namespace devauth

#include "oauth/assisted_approval.h"

#include <fmt/format.h>

#include <algorithm>

namespace devauth::oauth {

EndpointResult<std::string> checkSubjectParameter(std::string_view parameter,
                                                  const std::optional<std::string>& value) {
  if (!value) {
    return fail(OAuthErrorCode::InvalidRequest, fmt::format("Missing {}.", parameter));
  }
  const bool printable = std::all_of(value->begin(), value->end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) <= 0x7e;
  });
  if (value->empty() || value->size() > kMaxSubjectLength || !printable) {
    return fail(OAuthErrorCode::InvalidRequest,
                fmt::format("{} must be 1 to {} printable ASCII characters.", parameter,
                            kMaxSubjectLength));
  }
  return *value;
}

EndpointResult<std::optional<std::string>> readLoginHint(const Client& client,
                                                         const http::FormParams& form) {
  auto hint = form.get("login_hint");
  if (!hint) {
    return std::optional<std::string>();
  }
  // A binding decides who may approve, so only the clients trusted to approve may set it.
  if (client.type != ClientType::Confidential || !client.may_approve) {
    return fail(OAuthErrorCode::UnauthorizedClient,
                "login_hint is only accepted from a confidential client allowed to approve.");
  }
  auto subject = checkSubjectParameter("login_hint", hint);
  if (!subject) {
    return unexpected(subject.error());
  }
  return std::optional<std::string>(std::move(*subject));
}

}  // namespace devauth::oauth

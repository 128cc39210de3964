#pragma once

// Assisted approval: a trusted backend (a confidential client with may_approve) binds a pending
// device authorization to the one subject that may approve or deny it, either with the device
// authorization request (login_hint) or later with POST /oauth/device/bind. The binding is
// stored on the authorization, and the store's approve and deny updates honour it.

#include <optional>
#include <string>
#include <string_view>

#include "core/client.h"
#include "http/form.h"
#include "oauth/endpoint_error.h"

namespace devauth::oauth {

// The maximum length of a subject, from the approval API or as login_hint.
inline constexpr std::size_t kMaxSubjectLength = 255;

// Checks a subject sent as the form parameter `parameter`: 1 to 255 printable ASCII characters
// (%x20-7E). Errors: invalid_request naming the parameter when it is missing or malformed.
EndpointResult<std::string> checkSubjectParameter(std::string_view parameter,
                                                  const std::optional<std::string>& value);

// Reads the optional login_hint of a device authorization request of `client`: the subject
// the new authorization is bound to. The name is the one that the authentication request of
// OpenID Connect CIBA Core 1.0 uses. Errors:
// unauthorized_client when the client is not a confidential client with may_approve, and
// invalid_request when the hint is malformed. Returns nullopt when there is no login_hint.
EndpointResult<std::optional<std::string>> readLoginHint(const Client& client,
                                                         const http::FormParams& form);

}  // namespace devauth::oauth

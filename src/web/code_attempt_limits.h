#pragma once

// Limits on wrong user codes entered on the verification pages (RFC 8628 §5.1): failure
// budgets per source address, per browser session and in total (limits/abuse_limits.h). A
// success does not reset a count, so correct codes cannot be mixed in to keep guessing.

#include <optional>

#include "http/message.h"
#include "server/services.h"
#include "store/store.h"
#include "web/html.h"
#include "web/session.h"

namespace devauth::web {

// Returns how long `session` from the request's address must wait before entering another
// code, or nullopt when it may try now.
StoreResult<std::optional<seconds>> codeAttemptWait(Services& services,
                                                    const http::Request& request,
                                                    const WebSession& session);

// Counts a well-formed code that matched no authorization open for a decision.
StoreResult<void> countCodeFailure(Services& services, const http::Request& request,
                                   const WebSession& session);

// The 429 page with Retry-After, in the style of the other pages.
http::Response tooManyAttemptsPage(const http::Request& request, const PageContext& context,
                                   seconds retry_after);

}  // namespace devauth::web

#include "web/code_attempt_limits.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <string>

#include "core/secret.h"
#include "http/response.h"
#include "limits/abuse_limits.h"
#include "web/pages.h"

namespace devauth::web {
namespace {

std::vector<limits::Counter> codeFailureCounters(const Services& services,
                                                 const http::Request& request,
                                                 const WebSession& session) {
  return limits::userCodeFailureCounters(
      services.config.limits, limits::sourceAddress(request, services.config.trust_forwarded_for),
      "session:" + toHex(session.record.id_hash));
}

}  // namespace

StoreResult<std::optional<seconds>> codeAttemptWait(Services& services,
                                                    const http::Request& request,
                                                    const WebSession& session) {
  return limits::exceededWait(services.store, codeFailureCounters(services, request, session),
                              services.clock.now());
}

StoreResult<void> countCodeFailure(Services& services, const http::Request& request,
                                   const WebSession& session) {
  return limits::countFailure(services.store, codeFailureCounters(services, request, session),
                              services.clock.now());
}

http::Response tooManyAttemptsPage(const http::Request& request, seconds retry_after) {
  spdlog::warn("event=user_code_attempts_throttled endpoint={} request_id={}", request.path(),
               request.request_id);
  const long long minutes = (retry_after.count() + 59) / 60;
  const std::string message =
      fmt::format("Too many codes were entered that didn't work. Wait {} {} and try again.",
                  minutes, minutes == 1 ? "minute" : "minutes");
  http::Response response =
      http::htmlResponse(request, 429, renderMessage("Too many attempts", message));
  response.set(http::beast_http::field::retry_after, std::to_string(retry_after.count()));
  return response;
}

}  // namespace devauth::web

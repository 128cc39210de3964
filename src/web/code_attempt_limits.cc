#include "web/code_attempt_limits.h"

#include <spdlog/spdlog.h>

#include <string>

#include "core/secret.h"
#include "http/response.h"
#include "limits/abuse_limits.h"
#include "metrics/metrics.h"
#include "web/page_context.h"
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
  metrics::recordGuess(metrics::Guess::UserCode);
  return limits::countFailure(services.store, codeFailureCounters(services, request, session),
                              services.clock.now());
}

http::Response tooManyAttemptsPage(const http::Request& request, const PageContext& context,
                                   seconds retry_after) {
  spdlog::warn("event=user_code_attempts_throttled endpoint={} request_id={}", request.path(),
               request.request_id);
  metrics::recordBlock(metrics::Limit::UserCode);
  const Messages& messages = context.messages;
  const long long minutes = (retry_after.count() + 59) / 60;
  const std::string message = minutes == 1
                                  ? std::string(messages(MessageId::TooManyAttemptsOneMinute))
                                  : messages.format(MessageId::TooManyAttemptsMinutes, minutes);
  http::Response response =
      pageResponse(request, context, 429,
                   renderMessage(context, messages(MessageId::TooManyAttemptsTitle), message));
  response.set(http::beast_http::field::retry_after, std::to_string(retry_after.count()));
  return response;
}

}  // namespace devauth::web

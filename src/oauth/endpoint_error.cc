#include "oauth/endpoint_error.h"

#include <spdlog/spdlog.h>

#include "http/response.h"

namespace devauth::oauth {

http::Response errorResponse(const http::Request& request, const EndpointError& error) {
  spdlog::debug("event=request_rejected endpoint={} error={} request_id={}", request.path(),
                describe(error.error.code).wire_name, request.request_id);
  http::Response response = http::oauthErrorResponse(request, error.error, error.basic_auth_failed);
  if (error.retry_after) {
    response.set(http::beast_http::field::retry_after, std::to_string(error.retry_after->count()));
  }
  return response;
}

EndpointError storeFailure(const http::Request& request, std::string_view operation,
                           const StoreError& error) {
  const bool unavailable = error.kind == StoreError::Kind::Unavailable;
  spdlog::error("event=store_failed endpoint={} outcome={} error=\"{}: {}\" request_id={}",
                request.path(), unavailable ? "unavailable" : "internal", operation, error.message,
                request.request_id);
  return EndpointError{makeError(unavailable ? OAuthErrorCode::TemporarilyUnavailable
                                             : OAuthErrorCode::ServerError)};
}

}  // namespace devauth::oauth

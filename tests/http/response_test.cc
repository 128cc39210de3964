#include "http/response.h"

#include <gtest/gtest.h>

namespace devauth::http {
namespace {

using beast_http::field;

constexpr std::string_view kExpectedPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'";

Request makeRequest() {
  Request request;
  request.message.method(beast_http::verb::post);
  request.message.target("/oauth/device/token");
  request.message.version(11);
  request.request_id = "00112233aabbccdd";
  return request;
}

boost::json::object parseBody(const Response& response) {
  return boost::json::parse(response.body()).as_object();
}

void expectPageSecurityHeaders(const Response& response) {
  EXPECT_EQ(response["Content-Security-Policy"], kExpectedPolicy);
  EXPECT_EQ(response["X-Frame-Options"], "DENY");
  EXPECT_EQ(response["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(response["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(response[field::cache_control], "no-store");
}

TEST(HttpResponseTest, JsonResponseDisablesCaching) {
  const Response response = jsonResponse(makeRequest(), 200, boost::json::object{{"a", 1}});
  EXPECT_EQ(response.result_int(), 200U);
  EXPECT_EQ(response[field::content_type], "application/json");
  EXPECT_EQ(response[field::cache_control], "no-store");
  EXPECT_EQ(response[field::pragma], "no-cache");
  EXPECT_EQ(response["X-Request-Id"], "00112233aabbccdd");
  EXPECT_EQ(response.body(), R"({"a":1})");
  EXPECT_EQ(response[field::content_length], "7");
}

TEST(HttpResponseTest, OAuthErrorUsesTableStatus) {
  const std::pair<OAuthErrorCode, unsigned> cases[] = {
      {OAuthErrorCode::InvalidRequest, 400}, {OAuthErrorCode::AuthorizationPending, 400},
      {OAuthErrorCode::SlowDown, 400},       {OAuthErrorCode::ExpiredToken, 400},
      {OAuthErrorCode::ServerError, 500},    {OAuthErrorCode::TemporarilyUnavailable, 503},
      {OAuthErrorCode::RateLimited, 429},
  };
  for (const auto& [code, status] : cases) {
    const Response response = oauthErrorResponse(makeRequest(), makeError(code));
    EXPECT_EQ(response.result_int(), status) << describe(code).wire_name;
    EXPECT_EQ(parseBody(response).at("error").as_string(), describe(code).wire_name);
    EXPECT_EQ(response[field::cache_control], "no-store");
    EXPECT_EQ(response[field::www_authenticate], "");
  }
}

TEST(HttpResponseTest, OAuthErrorCarriesDescription) {
  const Response response = oauthErrorResponse(
      makeRequest(), makeError(OAuthErrorCode::InvalidRequest, "The device_code is missing."));
  const auto body = parseBody(response);
  EXPECT_EQ(body.at("error").as_string(), "invalid_request");
  EXPECT_EQ(body.at("error_description").as_string(), "The device_code is missing.");
  EXPECT_EQ(response[field::content_type], "application/json");
  EXPECT_EQ(response[field::pragma], "no-cache");
}

TEST(HttpResponseTest, PrebuiltErrorBodiesEqualJsonSerialization) {
  // The bodies for default descriptions are built once. Each must be the bytes boost::json
  // writes for the same object.
  for (int i = 0; i <= static_cast<int>(OAuthErrorCode::TemporarilyUnavailable); ++i) {
    const auto code = static_cast<OAuthErrorCode>(i);
    const OAuthErrorInfo& info = describe(code);
    const boost::json::object expected{{"error", info.wire_name},
                                       {"error_description", info.default_description}};
    EXPECT_EQ(oauthErrorResponse(makeRequest(), makeError(code)).body(),
              boost::json::serialize(expected))
        << info.wire_name;
    EXPECT_EQ(oauthErrorResponse(makeRequest(), OAuthError{code, ""}).body(),
              boost::json::serialize(expected))
        << info.wire_name;
  }
  const Response pending =
      oauthErrorResponse(makeRequest(), makeError(OAuthErrorCode::AuthorizationPending));
  EXPECT_EQ(pending.body(),
            R"({"error":"authorization_pending",)"
            R"("error_description":"The user has not yet approved or denied the request."})");
  EXPECT_EQ(pending[field::content_length], std::to_string(pending.body().size()));
}

TEST(HttpResponseTest, OAuthErrorBodySanitizesDescription) {
  EXPECT_EQ(oauthErrorBody("invalid_request", "a\"b\\c\n"),
            R"({"error":"invalid_request","error_description":"a?b?c?"})");
}

TEST(HttpResponseTest, OAuthErrorWithEmptyDescriptionUsesDefault) {
  const OAuthError error{OAuthErrorCode::AccessDenied, ""};
  const auto body = parseBody(oauthErrorResponse(makeRequest(), error));
  EXPECT_EQ(body.at("error_description").as_string(),
            describe(OAuthErrorCode::AccessDenied).default_description);
}

TEST(HttpResponseTest, InvalidClientWithoutBasicIs400) {
  // RFC 6749 §5.2: 401 requires a WWW-Authenticate challenge, sent only after a Basic attempt.
  const Response response =
      oauthErrorResponse(makeRequest(), makeError(OAuthErrorCode::InvalidClient));
  EXPECT_EQ(response.result_int(), 400U);
  EXPECT_EQ(response.find(field::www_authenticate), response.end());
  EXPECT_EQ(parseBody(response).at("error").as_string(), "invalid_client");
}

TEST(HttpResponseTest, InvalidClientAfterBasicIs401WithChallenge) {
  const Response response =
      oauthErrorResponse(makeRequest(), makeError(OAuthErrorCode::InvalidClient), true);
  EXPECT_EQ(response.result_int(), 401U);
  EXPECT_EQ(response[field::www_authenticate], R"(Basic realm="devauth", charset="UTF-8")");
  EXPECT_EQ(parseBody(response).at("error").as_string(), "invalid_client");
  EXPECT_EQ(response[field::cache_control], "no-store");
}

TEST(HttpResponseTest, HtmlResponseCarriesSecurityHeaders) {
  const Response response = htmlResponse(makeRequest(), 200, "<p>hi</p>");
  EXPECT_EQ(response.result_int(), 200U);
  EXPECT_EQ(response[field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(response["X-Request-Id"], "00112233aabbccdd");
  EXPECT_EQ(response.body(), "<p>hi</p>");
  expectPageSecurityHeaders(response);
}

TEST(HttpResponseTest, RedirectIsSeeOtherWithSecurityHeaders) {
  const Response response = redirectResponse(makeRequest(), "/device?done=1");
  EXPECT_EQ(response.result_int(), 303U);
  EXPECT_EQ(response[field::location], "/device?done=1");
  EXPECT_EQ(response["X-Request-Id"], "00112233aabbccdd");
  expectPageSecurityHeaders(response);
}

TEST(HttpResponseTest, RedirectEscapesControlCharacters) {
  // A CR LF in the location must not start a new header line.
  const Response response = redirectResponse(makeRequest(), "/device\r\nSet-Cookie: x=1");
  EXPECT_EQ(response[field::location], "/device%0D%0ASet-Cookie: x=1");
  EXPECT_EQ(response.find(field::set_cookie), response.end());
}

TEST(HttpResponseTest, TextResponseIsPlainText) {
  const Response response = textResponse(makeRequest(), 404, "Not Found\n");
  EXPECT_EQ(response.result_int(), 404U);
  EXPECT_EQ(response[field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(response["X-Request-Id"], "00112233aabbccdd");
  EXPECT_EQ(response.body(), "Not Found\n");
}

TEST(HttpResponseTest, ResponseFollowsRequestKeepAlive) {
  Request request = makeRequest();
  request.message.version(10);
  const Response response = textResponse(request, 200, "ok");
  EXPECT_EQ(response.version(), 10U);
  EXPECT_FALSE(response.keep_alive());
}

}  // namespace
}  // namespace devauth::http

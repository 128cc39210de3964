#include "http/router.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <stdexcept>

#include "http/response.h"

namespace devauth::http {
namespace {

using beast_http::verb;

Request makeRequest(verb method, std::string_view target) {
  Request request;
  request.message.method(method);
  request.message.target(target);
  request.message.version(11);
  request.request_id = "0123456789abcdef";
  return request;
}

class HttpRouterTest : public ::testing::Test {
 protected:
  HttpRouterTest() {
    router_.add(verb::get, "/hello",
                [](const Request& request) { return textResponse(request, 200, "hello\n"); });
    router_.add(verb::post, "/hello",
                [](const Request& request) { return textResponse(request, 201, "created\n"); });
    router_.add(verb::post, "/oauth/device/token", [](const Request& request) {
      return jsonResponse(request, 200, boost::json::object{{"ok", true}});
    });
    router_.add(verb::get, "/broken", [](const Request&) -> Response {
      throw std::runtime_error("secret detail from the handler");
    });
    router_.add(verb::post, "/oauth/broken", [](const Request&) -> Response {
      throw std::runtime_error("secret detail from the handler");
    });
    router_.add(verb::get, "/thrown-int", [](const Request&) -> Response { throw 42; });
  }

  Router router_;
};

TEST_F(HttpRouterTest, ExactPathDispatchesByMethod) {
  const Response get = router_.dispatch(makeRequest(verb::get, "/hello"));
  EXPECT_EQ(get.result_int(), 200U);
  EXPECT_EQ(get.body(), "hello\n");

  const Response post = router_.dispatch(makeRequest(verb::post, "/hello"));
  EXPECT_EQ(post.result_int(), 201U);
  EXPECT_EQ(post.body(), "created\n");
}

TEST_F(HttpRouterTest, QueryIgnoredForMatching) {
  const Response response = router_.dispatch(makeRequest(verb::get, "/hello?user_code=ABCD"));
  EXPECT_EQ(response.result_int(), 200U);
}

TEST_F(HttpRouterTest, UnknownPathReturns404) {
  for (const std::string_view target : {"/nope", "/hello/", "/Hello", "/hello/x", "/"}) {
    const Response response = router_.dispatch(makeRequest(verb::get, target));
    EXPECT_EQ(response.result_int(), 404U) << target;
    EXPECT_EQ(response[beast_http::field::content_type], "text/plain; charset=utf-8");
    EXPECT_EQ(response["X-Request-Id"], "0123456789abcdef");
  }
}

TEST_F(HttpRouterTest, WrongMethodReturns405WithAllow) {
  const Response response = router_.dispatch(makeRequest(verb::delete_, "/hello"));
  EXPECT_EQ(response.result_int(), 405U);
  EXPECT_EQ(response[beast_http::field::allow], "GET, POST");
  EXPECT_EQ(response[beast_http::field::content_type], "text/plain; charset=utf-8");
}

TEST_F(HttpRouterTest, WrongMethodOnOAuthPathReturnsJsonError) {
  // RFC 8628 §3.4: the token endpoint takes POST only.
  const Response response = router_.dispatch(makeRequest(verb::get, "/oauth/device/token"));
  EXPECT_EQ(response.result_int(), 405U);
  EXPECT_EQ(response[beast_http::field::allow], "POST");
  EXPECT_EQ(response[beast_http::field::content_type], "application/json");
  EXPECT_EQ(response[beast_http::field::cache_control], "no-store");
  const auto body = boost::json::parse(response.body()).as_object();
  EXPECT_EQ(body.at("error").as_string(), "invalid_request");
}

TEST_F(HttpRouterTest, HandlerExceptionReturns500WithoutDetail) {
  const Response response = router_.dispatch(makeRequest(verb::get, "/broken"));
  EXPECT_EQ(response.result_int(), 500U);
  EXPECT_EQ(response[beast_http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(response.body().find("secret detail"), std::string::npos) << response.body();
}

TEST_F(HttpRouterTest, NonStandardExceptionReturns500) {
  const Response response = router_.dispatch(makeRequest(verb::get, "/thrown-int"));
  EXPECT_EQ(response.result_int(), 500U);
}

TEST_F(HttpRouterTest, OAuthHandlerExceptionReturnsServerError) {
  const Response response = router_.dispatch(makeRequest(verb::post, "/oauth/broken"));
  EXPECT_EQ(response.result_int(), 500U);
  EXPECT_EQ(response[beast_http::field::content_type], "application/json");
  EXPECT_EQ(response[beast_http::field::cache_control], "no-store");
  EXPECT_EQ(response.body().find("secret detail"), std::string::npos) << response.body();
  const auto body = boost::json::parse(response.body()).as_object();
  EXPECT_EQ(body.at("error").as_string(), "server_error");
}

TEST(HttpRequestTest, PathAndQuerySplitAtQuestionMark) {
  const Request request = makeRequest(verb::get, "/device?user_code=WDJB-MJHT&x");
  EXPECT_EQ(request.path(), "/device");
  EXPECT_EQ(request.query(), "user_code=WDJB-MJHT&x");
}

TEST(HttpRequestTest, TargetWithoutQueryHasEmptyQuery) {
  const Request request = makeRequest(verb::get, "/device");
  EXPECT_EQ(request.path(), "/device");
  EXPECT_EQ(request.query(), "");

  const Request trailing = makeRequest(verb::get, "/device?");
  EXPECT_EQ(trailing.path(), "/device");
  EXPECT_EQ(trailing.query(), "");
}

// dispatchQuick returns the quick handler's response unless it declines, and dispatch still runs
// the handler.
TEST_F(HttpRouterTest, QuickHandlerAnswersOrDeclines) {
  router_.add(
      verb::get, "/status",
      [](const Request& request) { return textResponse(request, 200, "from handler\n"); },
      [](const Request& request) -> std::optional<Response> {
        if (request.query() == "decline") {
          return std::nullopt;
        }
        return textResponse(request, 200, "quick\n");
      });

  const auto quick = router_.dispatchQuick(makeRequest(verb::get, "/status"));
  ASSERT_TRUE(quick.has_value());
  EXPECT_EQ(quick->body(), "quick\n");
  EXPECT_FALSE(router_.dispatchQuick(makeRequest(verb::get, "/status?decline")).has_value());
  EXPECT_EQ(router_.dispatch(makeRequest(verb::get, "/status")).body(), "from handler\n");
}

// Without a quick handler for the path and method, dispatchQuick returns nullopt, and dispatch
// returns 404 or 405 as before.
TEST_F(HttpRouterTest, NoQuickHandlerLeavesRequestToDispatch) {
  router_.add(
      verb::get, "/status",
      [](const Request& request) { return textResponse(request, 200, "from handler\n"); },
      [](const Request& request) -> std::optional<Response> {
        return textResponse(request, 200, "quick\n");
      });

  EXPECT_FALSE(router_.dispatchQuick(makeRequest(verb::get, "/hello")).has_value());
  EXPECT_FALSE(router_.dispatchQuick(makeRequest(verb::get, "/missing")).has_value());
  EXPECT_FALSE(router_.dispatchQuick(makeRequest(verb::post, "/status")).has_value());
  EXPECT_EQ(router_.dispatch(makeRequest(verb::post, "/status")).result_int(), 405U);
}

// A quick handler that throws counts as declining, so dispatch still runs the handler.
TEST_F(HttpRouterTest, ThrowingQuickHandlerDeclines) {
  router_.add(
      verb::get, "/status",
      [](const Request& request) { return textResponse(request, 200, "from handler\n"); },
      [](const Request&) -> std::optional<Response> {
        throw std::runtime_error("secret detail from the quick handler");
      });

  EXPECT_FALSE(router_.dispatchQuick(makeRequest(verb::get, "/status")).has_value());
  EXPECT_EQ(router_.dispatch(makeRequest(verb::get, "/status")).body(), "from handler\n");
}

}  // namespace
}  // namespace devauth::http

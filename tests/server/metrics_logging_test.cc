// The Prometheus exposition and the JSON log lines, without a server.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <string>

#include "metrics/metrics.h"
#include "server/logging.h"

namespace devauth::testing {
namespace {

// The value of the sample `name_and_labels` in `exposition`, or -1 when it is missing.
double sample(const std::string& exposition, const std::string& name_and_labels) {
  const std::string prefix = name_and_labels + " ";
  std::size_t at = 0;
  while ((at = exposition.find(prefix, at)) != std::string::npos) {
    if (at == 0 || exposition[at - 1] == '\n') {
      return std::stod(exposition.substr(at + prefix.size()));
    }
    at += prefix.size();
  }
  return -1;
}

TEST(MetricsTest, PollCounterMovesByOne) {
  const double before = sample(metrics::render(), "devauth_polls_total{answer=\"slow_down\"}");
  metrics::recordPoll(metrics::PollAnswer::SlowDown);
  const double after = sample(metrics::render(), "devauth_polls_total{answer=\"slow_down\"}");
  ASSERT_GE(before, 0);
  EXPECT_EQ(after, before + 1);
}

TEST(MetricsTest, RequestsCountedByRouteAndStatus) {
  const std::size_t slot = metrics::registerEndpoint("GET", "/metrics-test");
  EXPECT_EQ(metrics::registerEndpoint("GET", "/metrics-test"), slot);
  metrics::recordRequest(slot, 429, std::chrono::microseconds(300));
  metrics::recordRequest(slot, 418, std::chrono::seconds(10));

  const std::string text = metrics::render();
  EXPECT_EQ(sample(text,
                   "devauth_http_requests_total{method=\"GET\",path=\"/metrics-test\","
                   "status=\"429\"}"),
            1);
  EXPECT_EQ(sample(text,
                   "devauth_http_requests_total{method=\"GET\",path=\"/metrics-test\","
                   "status=\"other\"}"),
            1);
  const std::string histogram = "devauth_http_request_duration_seconds";
  const std::string labels = "method=\"GET\",path=\"/metrics-test\"";
  EXPECT_EQ(sample(text, histogram + "_bucket{" + labels + ",le=\"0.00025\"}"), 0);
  EXPECT_EQ(sample(text, histogram + "_bucket{" + labels + ",le=\"0.0005\"}"), 1);
  EXPECT_EQ(sample(text, histogram + "_bucket{" + labels + ",le=\"5\"}"), 1);
  EXPECT_EQ(sample(text, histogram + "_bucket{" + labels + ",le=\"+Inf\"}"), 2);
  EXPECT_EQ(sample(text, histogram + "_count{" + labels + "}"), 2);
  EXPECT_DOUBLE_EQ(sample(text, histogram + "_sum{" + labels + "}"), 10.0003);
}

TEST(MetricsTest, EveryLineIsCommentOrSample) {
  metrics::setLiveAuthorizationsSource({[] { return std::optional<double>(3); }});
  const std::string text = metrics::render();
  metrics::setLiveAuthorizationsSource({});
  EXPECT_EQ(sample(text, "devauth_live_authorizations"), 3);

  // Text format 0.0.4: `# HELP`, `# TYPE`, or `name{labels} value`.
  const std::regex line_pattern(
      R"((# (HELP|TYPE) [a-z_]+ .+)|([a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+))");
  std::size_t start = 0;
  int lines = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "the exposition does not end with a line feed";
    const std::string line = text.substr(start, end - start);
    EXPECT_TRUE(std::regex_match(line, line_pattern)) << line;
    start = end + 1;
    ++lines;
  }
  EXPECT_GT(lines, 40);
}

TEST(JsonLogTest, PairsBecomeKeysWithEventAsMessage) {
  const std::string line =
      jsonLogLine("2026-01-01T00:00:00.000+0000", "info",
                  "event=request request_id=abc method=POST path=/oauth/device/token status=400 "
                  "duration_ms=0.125 error=\"bad \\\"thing\\\"\" audit=true");
  const auto parsed = boost::json::parse(line).as_object();
  EXPECT_EQ(parsed.at("ts").as_string(), "2026-01-01T00:00:00.000+0000");
  EXPECT_EQ(parsed.at("level").as_string(), "info");
  EXPECT_EQ(parsed.at("msg").as_string(), "request");
  EXPECT_EQ(parsed.at("request_id").as_string(), "abc");
  EXPECT_EQ(parsed.at("method").as_string(), "POST");
  EXPECT_EQ(parsed.at("path").as_string(), "/oauth/device/token");
  EXPECT_EQ(parsed.at("status").as_int64(), 400);
  EXPECT_DOUBLE_EQ(parsed.at("duration_ms").as_double(), 0.125);
  EXPECT_EQ(parsed.at("error").as_string(), "bad \"thing\"");
  EXPECT_TRUE(parsed.at("audit").as_bool());
  // ts, level and msg come first.
  EXPECT_EQ(line.rfind("{\"ts\":", 0), 0u) << line;
}

TEST(JsonLogTest, FreeTextBecomesMessage) {
  const std::string line = jsonLogLine("t", "warn", "plain words, not pairs");
  const auto parsed = boost::json::parse(line).as_object();
  EXPECT_EQ(parsed.at("msg").as_string(), "plain words, not pairs");
  EXPECT_EQ(parsed.size(), 3u);
}

}  // namespace
}  // namespace devauth::testing

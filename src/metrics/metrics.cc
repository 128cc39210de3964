#include "metrics/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <utility>

namespace devauth::metrics {
namespace {

using Counter = std::atomic<std::uint64_t>;

constexpr std::array<std::string_view, static_cast<std::size_t>(PollAnswer::Count)>
    kPollAnswerNames = {"pending", "slow_down", "denied", "expired", "issued", "redeemed"};
constexpr std::array<std::string_view, static_cast<std::size_t>(Stage::Count)> kStageNames = {
    "begun", "code_entered", "approved", "denied", "redeemed"};
constexpr std::array<std::string_view, static_cast<std::size_t>(ExpiredAt::Count)> kExpiredNames = {
    "code_entry", "pending", "approved"};
constexpr std::array<std::string_view, static_cast<std::size_t>(Limit::Count)> kLimitNames = {
    "user_code", "device_request", "live_authorizations", "client_auth"};
constexpr std::array<std::string_view, static_cast<std::size_t>(Guess::Count)> kGuessNames = {
    "user_code", "client_auth", "password"};

struct EndpointSlot {
  std::string method;
  std::string path;
  // Indexed like kCountedStatuses; the last entry counts every other status.
  std::array<Counter, kCountedStatuses.size()> statuses{};
  Histogram latency;
};

struct Registry {
  // Counters that different threads update sit on separate cache lines.
  alignas(64) std::array<Counter, kPollAnswerNames.size()> polls{};
  alignas(64) std::array<Counter, kStageNames.size()> stages{};
  alignas(64) std::array<Counter, kExpiredNames.size()> expired{};
  alignas(64) std::array<Counter, kLimitNames.size()> blocks{};
  alignas(64) std::array<Counter, kGuessNames.size()> guesses{};
  alignas(64) Histogram store_statements;
  // Device token polls held with Prefer: wait: now, since start, and refused by a bound.
  alignas(64) std::atomic<std::int64_t> held_polls{0};
  Counter held_polls_started{0};
  Counter held_polls_refused{0};

  std::array<EndpointSlot, kMaxEndpoints> endpoints;
  // Registration happens at start-up, but tests start several servers in one process.
  std::mutex endpoints_mutex;
  std::atomic<std::size_t> endpoint_count{0};

  std::mutex gauge_mutex;
  GaugeSource live_source;                               // guarded by gauge_mutex
  std::optional<double> live_value;                      // guarded by gauge_mutex
  std::chrono::steady_clock::time_point live_read_at{};  // guarded by gauge_mutex
};

Registry& registry() {
  static Registry instance;
  return instance;
}

template <typename Enum, std::size_t N>
void add(std::array<Counter, N>& counters, Enum which) {
  counters[static_cast<std::size_t>(which)].fetch_add(1, std::memory_order_relaxed);
}

std::size_t statusSlot(unsigned status) {
  for (std::size_t i = 0; i + 1 < kCountedStatuses.size(); ++i) {
    if (kCountedStatuses[i] == status) {
      return i;
    }
  }
  return kCountedStatuses.size() - 1;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <std::size_t N>
void renderLabelled(std::string& out, std::string_view name, std::string_view label,
                    const std::array<std::string_view, N>& names,
                    const std::array<Counter, N>& counters) {
  for (std::size_t i = 0; i < N; ++i) {
    out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, names[i],
                       counters[i].load(std::memory_order_relaxed));
  }
}

// Label values are paths and methods registered by the server; escape them anyway as the text
// format requires (backslash, double quote, line feed).
std::string escapeLabel(std::string_view value) {
  std::string escaped;
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      escaped.push_back('\\');
      escaped.push_back(c);
    } else if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

std::string formatSeconds(double value) { return fmt::format("{}", value); }

std::optional<double> liveAuthorizations() {
  Registry& r = registry();
  std::lock_guard lock(r.gauge_mutex);
  if (!r.live_source.read) {
    return std::nullopt;
  }
  const auto now = std::chrono::steady_clock::now();
  if (r.live_read_at == std::chrono::steady_clock::time_point{} ||
      now - r.live_read_at >= r.live_source.max_age) {
    r.live_value = r.live_source.read();
    r.live_read_at = now;
  }
  return r.live_value;
}

void renderRequests(std::string& out) {
  Registry& r = registry();
  const std::size_t count =
      std::min(r.endpoint_count.load(std::memory_order_acquire), kMaxEndpoints);
  header(out, "devauth_http_requests_total", "counter",
         "HTTP requests answered, by route and status code.");
  for (std::size_t e = 0; e < count; ++e) {
    const EndpointSlot& slot = r.endpoints[e];
    for (std::size_t s = 0; s < kCountedStatuses.size(); ++s) {
      const std::uint64_t value = slot.statuses[s].load(std::memory_order_relaxed);
      if (value == 0) {
        continue;
      }
      const std::string status =
          kCountedStatuses[s] == 0 ? "other" : std::to_string(kCountedStatuses[s]);
      out +=
          fmt::format("devauth_http_requests_total{{method=\"{}\",path=\"{}\",status=\"{}\"}} {}\n",
                      escapeLabel(slot.method), escapeLabel(slot.path), status, value);
    }
  }
  header(out, "devauth_http_request_duration_seconds", "histogram",
         "Time from a parsed request to its response, by route.");
  for (std::size_t e = 0; e < count; ++e) {
    const EndpointSlot& slot = r.endpoints[e];
    slot.latency.render(
        out, "devauth_http_request_duration_seconds",
        fmt::format("method=\"{}\",path=\"{}\"", escapeLabel(slot.method), escapeLabel(slot.path)));
  }
}

}  // namespace

void Histogram::observe(std::chrono::nanoseconds duration) {
  const double seconds = std::chrono::duration<double>(duration).count();
  std::size_t bucket = 0;
  while (bucket < kLatencyBounds.size() && seconds > kLatencyBounds[bucket]) {
    ++bucket;
  }
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_nanoseconds_.fetch_add(
      static_cast<std::uint64_t>(std::max<std::int64_t>(duration.count(), 0)),
      std::memory_order_relaxed);
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string prefix = labels.empty() ? "" : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string bound = i < kLatencyBounds.size() ? formatSeconds(kLatencyBounds[i]) : "+Inf";
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, prefix, bound, cumulative);
  }
  const double sum = static_cast<double>(sum_nanoseconds_.load(std::memory_order_relaxed)) / 1e9;
  const std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  out += fmt::format("{}_sum{} {}\n", name, braces, sum);
  out += fmt::format("{}_count{} {}\n", name, braces, cumulative);
}

void recordPoll(PollAnswer answer) { add(registry().polls, answer); }
void recordStage(Stage stage) { add(registry().stages, stage); }
void recordExpired(ExpiredAt stage) { add(registry().expired, stage); }
void recordBlock(Limit limit) { add(registry().blocks, limit); }
void recordGuess(Guess guess) { add(registry().guesses, guess); }
void recordHeldPollStarted() {
  registry().held_polls.fetch_add(1, std::memory_order_relaxed);
  registry().held_polls_started.fetch_add(1, std::memory_order_relaxed);
}
void recordHeldPollEnded() { registry().held_polls.fetch_sub(1, std::memory_order_relaxed); }
void recordHeldPollRefused() {
  registry().held_polls_refused.fetch_add(1, std::memory_order_relaxed);
}
void recordStoreStatement(std::chrono::nanoseconds duration) {
  registry().store_statements.observe(duration);
}

std::size_t registerEndpoint(std::string_view method, std::string_view path) {
  Registry& r = registry();
  std::lock_guard lock(r.endpoints_mutex);
  const std::size_t count = r.endpoint_count.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < count; ++i) {
    if (r.endpoints[i].method == method && r.endpoints[i].path == path) {
      return i;
    }
  }
  if (count == kMaxEndpoints) {
    return kMaxEndpoints - 1;
  }
  r.endpoints[count].method = method;
  r.endpoints[count].path = path;
  r.endpoint_count.store(count + 1, std::memory_order_release);
  return count;
}

void recordRequest(std::size_t endpoint, unsigned status, std::chrono::nanoseconds duration) {
  EndpointSlot& slot = registry().endpoints[std::min(endpoint, kMaxEndpoints - 1)];
  slot.statuses[statusSlot(status)].fetch_add(1, std::memory_order_relaxed);
  slot.latency.observe(duration);
}

void setLiveAuthorizationsSource(GaugeSource source) {
  Registry& r = registry();
  std::lock_guard lock(r.gauge_mutex);
  r.live_source = std::move(source);
  r.live_value.reset();
  r.live_read_at = {};
}

std::string render() {
  Registry& r = registry();
  std::string out;
  out.reserve(std::size_t{16} * 1024);
  renderRequests(out);

  header(out, "devauth_polls_total", "counter",
         "Device access token requests by answer (RFC 8628 section 3.5).");
  renderLabelled(out, "devauth_polls_total", "answer", kPollAnswerNames, r.polls);
  header(out, "devauth_authorizations_total", "counter",
         "Device authorizations that reached each stage of the approval funnel.");
  renderLabelled(out, "devauth_authorizations_total", "stage", kStageNames, r.stages);
  header(out, "devauth_authorizations_expired_total", "counter",
         "Expired device authorizations by the stage at which the expiry was seen.");
  renderLabelled(out, "devauth_authorizations_expired_total", "stage", kExpiredNames, r.expired);
  header(out, "devauth_guess_failures_total", "counter",
         "Wrong user codes, client credentials and passwords.");
  renderLabelled(out, "devauth_guess_failures_total", "kind", kGuessNames, r.guesses);
  header(out, "devauth_rate_limit_blocks_total", "counter",
         "Requests rejected with 429 by a rate limit.");
  renderLabelled(out, "devauth_rate_limit_blocks_total", "limit", kLimitNames, r.blocks);

  header(out, "devauth_held_polls", "gauge",
         "Device access token requests held with Prefer: wait (RFC 7240 section 4.3) now.");
  out += fmt::format("devauth_held_polls {}\n", r.held_polls.load(std::memory_order_relaxed));
  header(out, "devauth_held_polls_total", "counter",
         "Device access token requests with Prefer: wait, by whether they were held or answered "
         "at once because a bound on held requests was reached.");
  out += fmt::format("devauth_held_polls_total{{outcome=\"held\"}} {}\n",
                     r.held_polls_started.load(std::memory_order_relaxed));
  out += fmt::format("devauth_held_polls_total{{outcome=\"refused\"}} {}\n",
                     r.held_polls_refused.load(std::memory_order_relaxed));

  header(out, "devauth_store_statement_duration_seconds", "histogram",
         "Time of each SQLite step or PostgreSQL statement, including lock waits.");
  r.store_statements.render(out, "devauth_store_statement_duration_seconds", "");

  if (const auto live = liveAuthorizations()) {
    header(out, "devauth_live_authorizations", "gauge",
           "Pending, unexpired device authorizations in the store (cached for a few seconds).");
    out += fmt::format("devauth_live_authorizations {}\n", *live);
  }
  return out;
}

}  // namespace devauth::metrics

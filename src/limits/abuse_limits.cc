#include "limits/abuse_limits.h"

#include <algorithm>

namespace devauth::limits {
namespace {

// A key names what is counted and hashes the value counted, so that addresses, session ids
// and client ids never reach the counter table in clear.
std::string counterKey(std::string_view kind, std::string_view value) {
  return std::string(kind) + ":" + toHex(hashSecret(value));
}

// Time until the fixed window of `limit` that contains `now` ends, rounded up to whole seconds.
seconds untilWindowEnd(const RateLimit& limit, TimePoint now) {
  const long long length = std::chrono::duration_cast<milliseconds>(limit.window).count();
  const long long elapsed = toUnixMillis(now) % length;
  const long long remaining_ms = length - elapsed;
  return seconds(std::max<long long>(1, (remaining_ms + 999) / 1000));
}

void addCounter(std::vector<Counter>& counters, std::string_view kind, std::string_view value,
                const RateLimit& limit) {
  if (limit.max_count > 0) {
    counters.push_back(Counter{counterKey(kind, value), limit});
  }
}

std::string_view trim(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

}  // namespace

StoreResult<std::optional<seconds>> exceededWait(Store& store, const std::vector<Counter>& counters,
                                                 TimePoint now) {
  std::optional<seconds> wait;
  for (const Counter& counter : counters) {
    auto count = store.readCounter(counter.key, counter.limit.window, now);
    if (!count) {
      return unexpected(count.error());
    }
    if (*count >= counter.limit.max_count) {
      wait = std::max(wait.value_or(seconds(0)), untilWindowEnd(counter.limit, now));
    }
  }
  return wait;
}

StoreResult<void> countFailure(Store& store, const std::vector<Counter>& counters, TimePoint now) {
  for (const Counter& counter : counters) {
    auto count = store.incrementCounter(counter.key, counter.limit.window, now);
    if (!count) {
      return unexpected(count.error());
    }
  }
  return {};
}

StoreResult<std::optional<seconds>> countRequest(Store& store, const std::vector<Counter>& counters,
                                                 TimePoint now) {
  std::vector<std::int64_t> counts;
  for (const Counter& counter : counters) {
    auto count = store.incrementCounter(counter.key, counter.limit.window, now);
    if (!count) {
      return unexpected(count.error());
    }
    counts.push_back(*count);
  }
  return waitAfter(counters, counts, now);
}

std::vector<RequestCounter> requestCounters(const std::vector<Counter>& counters) {
  std::vector<RequestCounter> counted;
  counted.reserve(counters.size());
  for (const Counter& counter : counters) {
    counted.push_back(RequestCounter{counter.key, counter.limit.window, counter.limit.max_count});
  }
  return counted;
}

std::optional<seconds> waitAfter(const std::vector<Counter>& counters,
                                 const std::vector<std::int64_t>& counts, TimePoint now) {
  std::optional<seconds> wait;
  for (std::size_t i = 0; i < counters.size() && i < counts.size(); ++i) {
    if (counts[i] > counters[i].limit.max_count) {
      wait = std::max(wait.value_or(seconds(0)), untilWindowEnd(counters[i].limit, now));
    }
  }
  return wait;
}

std::vector<Counter> userCodeFailureCounters(const AbuseLimits& limits, std::string_view address,
                                             std::string_view caller) {
  std::vector<Counter> counters;
  addCounter(counters, "user_code_failures_address", address,
             limits.user_code_failures_per_address);
  addCounter(counters, "user_code_failures_caller", caller, limits.user_code_failures_per_session);
  addCounter(counters, "user_code_failures_total", "all", limits.user_code_failures_total);
  return counters;
}

std::vector<Counter> deviceRequestCounters(const AbuseLimits& limits, std::string_view client_id,
                                           std::string_view address) {
  std::vector<Counter> counters;
  addCounter(counters, "device_requests_client", client_id, limits.device_requests_per_client);
  addCounter(counters, "device_requests_address", address, limits.device_requests_per_address);
  return counters;
}

std::vector<Counter> clientAuthFailureCounters(const AbuseLimits& limits,
                                               std::string_view client_id,
                                               std::string_view address) {
  std::vector<Counter> counters;
  if (!client_id.empty()) {
    addCounter(counters, "client_auth_failures_client", client_id,
               limits.client_auth_failures_per_client);
  }
  addCounter(counters, "client_auth_failures_address", address,
             limits.client_auth_failures_per_address);
  return counters;
}

std::vector<Counter> introspectionCounters(const AbuseLimits& limits, std::string_view client_id) {
  std::vector<Counter> counters;
  addCounter(counters, "introspection_requests_client", client_id,
             limits.introspection_requests_per_client);
  return counters;
}

std::vector<Counter> revocationCounters(const AbuseLimits& limits, std::string_view client_id,
                                        std::string_view address) {
  std::vector<Counter> counters;
  addCounter(counters, "revocation_requests_client", client_id,
             limits.revocation_requests_per_client);
  addCounter(counters, "revocation_requests_address", address,
             limits.revocation_requests_per_address);
  return counters;
}

std::string sourceAddress(const http::Request& request, bool trust_forwarded_for) {
  if (trust_forwarded_for) {
    const std::string_view forwarded = request.message["X-Forwarded-For"];
    const std::size_t comma = forwarded.rfind(',');
    const std::string_view last =
        trim(comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1));
    if (!last.empty()) {
      return std::string(last);
    }
  }
  return request.remote_address;
}

}  // namespace devauth::limits

// Micro-benchmarks of the core work in every request: user codes, secrets, hashing, the
// polling rule and the memory of codes whose early polls are slow_down.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/authorization.h"
#include "core/random.h"
#include "core/secret.h"
#include "core/user_code.h"
#include "oauth/slow_down_cache.h"

namespace devauth {
namespace {

void BM_GenerateUserCode(benchmark::State& state) {
  CsprngRandom random;
  for (auto _ : state) {
    benchmark::DoNotOptimize(generateUserCode(random));
  }
}
BENCHMARK(BM_GenerateUserCode);

void BM_FormatUserCode(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(formatUserCode("BCDFGHJK"));
  }
}
BENCHMARK(BM_FormatUserCode);

void BM_NormalizeUserCodeTyped(benchmark::State& state) {
  // What a person types on a phone: lower case, with the dash.
  for (auto _ : state) {
    benchmark::DoNotOptimize(normalizeUserCode("bcdf-ghjk"));
  }
}
BENCHMARK(BM_NormalizeUserCodeTyped);

void BM_NormalizeUserCodeInvalid(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(normalizeUserCode("BCDF-GH1K"));
  }
}
BENCHMARK(BM_NormalizeUserCodeInvalid);

void BM_GenerateSecret(benchmark::State& state) {
  CsprngRandom random;
  for (auto _ : state) {
    benchmark::DoNotOptimize(generateSecret(random));
  }
}
BENCHMARK(BM_GenerateSecret);

void BM_HashSecret(benchmark::State& state) {
  CsprngRandom random;
  const std::string secret = generateSecret(random);
  for (auto _ : state) {
    benchmark::DoNotOptimize(hashSecret(secret));
  }
}
BENCHMARK(BM_HashSecret);

void BM_ConstantTimeEquals(benchmark::State& state) {
  const SecretHash a = hashSecret("a");
  const SecretHash b = hashSecret("b");
  for (auto _ : state) {
    benchmark::DoNotOptimize(constantTimeEquals(a, b));
  }
}
BENCHMARK(BM_ConstantTimeEquals);

void BM_RelayPublicKeyFor(benchmark::State& state) {
  CsprngRandom random;
  const std::string device_code = generateSecret(random);
  for (auto _ : state) {
    benchmark::DoNotOptimize(relayPublicKeyFor(device_code));
  }
}
BENCHMARK(BM_RelayPublicKeyFor);

void BM_DecidePoll(benchmark::State& state) {
  Authorization authorization;
  const TimePoint now = fromUnixMillis(1'800'000'000'000);
  authorization.created_at = now - seconds(30);
  authorization.expires_at = now + seconds(570);
  authorization.last_poll_at = now - seconds(2);
  const PollPolicy policy;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decidePoll(authorization, now, policy));
  }
}
BENCHMARK(BM_DecidePoll);

// One lookup of a remembered code among state.range(0) codes, as the I/O thread makes for
// each early poll.
void BM_SlowDownCacheLookup(benchmark::State& state) {
  const TimePoint now = fromUnixMillis(1'800'000'000'000);
  const auto codes = static_cast<int>(state.range(0));
  const PollPolicy policy;
  oauth::SlowDownCache cache(static_cast<std::size_t>(codes));
  cache.enable();
  cache.reset(&policy);
  std::vector<SecretHash> hashes;
  hashes.reserve(static_cast<std::size_t>(codes));
  for (int n = 0; n < codes; ++n) {
    hashes.push_back(hashSecret("device-code-" + std::to_string(n)));
    cache.remember(hashes.back(), "authorization-" + std::to_string(n), "tv-app",
                   now + seconds(100), &policy, cache.generation(), now);
  }
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.isTooEarly(hashes[next], "tv-app", now));
    next = next + 1 == hashes.size() ? 0 : next + 1;
  }
}
BENCHMARK(BM_SlowDownCacheLookup)->Arg(1000)->Arg(16384);

}  // namespace
}  // namespace devauth

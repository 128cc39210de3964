// Micro-benchmarks of the core work in every request: user codes, secrets, hashing and the
// polling rule.

#include <benchmark/benchmark.h>

#include "core/authorization.h"
#include "core/random.h"
#include "core/secret.h"
#include "core/user_code.h"

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

}  // namespace
}  // namespace devauth

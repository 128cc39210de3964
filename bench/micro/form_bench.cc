// Micro-benchmarks of the form parser every OAuth endpoint runs on its body (RFC 6749
// Appendix B), with the repeated-parameter check of RFC 6749 §3.2.

#include <benchmark/benchmark.h>

#include <string>

#include "http/form.h"

namespace devauth {
namespace {

// A token poll's body as a stock OAuth client library sends it (RFC 8628 §3.4).
const std::string kPollBody =
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
    "&device_code=J7wU1dJ0Yp9c3kq6Zc2yV4n8QeF5tH1mA0sLrXbWg3o&client_id=bench-tv";

void BM_ParseFormPoll(benchmark::State& state) {
  for (auto _ : state) {
    auto form = http::parseForm(kPollBody);
    benchmark::DoNotOptimize(form->firstRepeatedName());
    benchmark::DoNotOptimize(form);
  }
}
BENCHMARK(BM_ParseFormPoll);

// The same parameters with a value that is not ASCII (a scope written in another script).
void BM_ParseFormUtf8(benchmark::State& state) {
  const std::string body = kPollBody + "&scope=%C3%A9l%C3%A8ve+%E6%97%A5%E6%9C%AC";
  for (auto _ : state) {
    auto form = http::parseForm(body);
    benchmark::DoNotOptimize(form->firstRepeatedName());
    benchmark::DoNotOptimize(form);
  }
}
BENCHMARK(BM_ParseFormUtf8);

}  // namespace
}  // namespace devauth

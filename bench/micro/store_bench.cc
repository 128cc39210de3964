// Micro-benchmarks of the SQLite store operations on a real database file, with the server's
// settings (WAL, synchronous=FULL). Each write commits, so its time includes the WAL sync of
// the file system that holds TMPDIR.

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../tools/bulk_seed.h"
#include "core/device_code.h"
#include "core/random.h"
#include "core/secret.h"
#include "store/sqlite/sqlite_store.h"

namespace devauth {
namespace {

constexpr const char* kClientId = "bench-tv";

// Stops the benchmark program when setting up a store fails, since no result would be valid.
void requireOk(bool ok, const char* step) {
  if (!ok) {
    std::fprintf(stderr, "store benchmark: cannot %s\n", step);
    std::abort();
  }
}

// A fresh database with `rows` pending authorizations, removed at the end of the benchmark.
class SeededStore {
 public:
  SeededStore(std::size_t rows, std::size_t kept) {
    std::string pattern = (std::filesystem::temp_directory_path() / "devauth-micro-XXXXXX");
    dir_ = mkdtemp(pattern.data());
    const std::string path = dir_ + "/store.db";
    store_ = std::move(SqliteStore::open(path).value());
    requireOk(static_cast<bool>(store_->migrate()), "migrate");
    Client client;
    client.id = kClientId;
    client.name = "Benchmark TV";
    client.allowed_scopes = {"profile"};
    client.default_scopes = {"profile"};
    requireOk(static_cast<bool>(store_->insertClient(client)), "insert the client");

    bench::SeedOptions options;
    options.client_id = kClientId;
    options.scope = "profile";
    options.rows = rows;
    options.kept_codes = kept;
    options.now = clock_.now();
    options.ttl = seconds(3600);
    codes_ = bench::seedAuthorizations(path, options).value();
  }
  ~SeededStore() { store_.reset(), std::filesystem::remove_all(dir_); }

  Store& store() { return *store_; }
  const std::vector<bench::SeededCode>& codes() const { return codes_; }
  TimePoint now() const { return clock_.now(); }

 private:
  SystemClock clock_;
  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::vector<bench::SeededCode> codes_;
};

// A pending authorization of the benchmark client with fresh codes, as a begin stores it.
Authorization newAuthorization(RandomSource& random, std::string id, TimePoint now) {
  Authorization authorization;
  authorization.id = std::move(id);
  authorization.device_code_hash = deviceCodeKey(generateDeviceCode(random, now));
  authorization.user_code_hash = hashSecret(generateSecret(random));
  authorization.client_id = kClientId;
  authorization.scope = "profile";
  authorization.created_at = now;
  authorization.expires_at = now + seconds(600);
  return authorization;
}

void BM_StoreInsertAuthorization(benchmark::State& state) {
  SeededStore seeded(static_cast<std::size_t>(state.range(0)), 0);
  CsprngRandom random;
  std::size_t n = 0;
  for (auto _ : state) {
    const Authorization authorization =
        newAuthorization(random, "micro-" + std::to_string(n++), seeded.now());
    if (!seeded.store().insertAuthorization(authorization)) {
      state.SkipWithError("insert failed");
      break;
    }
  }
}
BENCHMARK(BM_StoreInsertAuthorization)->Arg(1000)->Arg(20000);

// Inserts from several threads into one store at once, as the server's handler threads do
// under load. Concurrent inserts share a transaction (SqliteStore group commit).
void BM_StoreInsertAuthorizationConcurrent(benchmark::State& state) {
  static SeededStore* seeded = nullptr;
  if (state.thread_index() == 0) {
    seeded = new SeededStore(static_cast<std::size_t>(state.range(0)), 0);
  }
  CsprngRandom random;
  std::size_t n = 0;
  // Google Benchmark starts the timed loops of all threads together, after thread 0 has set
  // up the store, and stops them together.
  for (auto _ : state) {
    const Authorization authorization = newAuthorization(
        random, "micro-" + std::to_string(state.thread_index()) + "-" + std::to_string(n++),
        seeded->now());
    if (!seeded->store().insertAuthorization(authorization)) {
      state.SkipWithError("insert failed");
      break;
    }
  }
  if (state.thread_index() == 0) {
    delete seeded;
    seeded = nullptr;
  }
}
BENCHMARK(BM_StoreInsertAuthorizationConcurrent)->Arg(1000)->Threads(4)->UseRealTime();

void BM_StoreFindByDeviceCode(benchmark::State& state) {
  SeededStore seeded(static_cast<std::size_t>(state.range(0)), 1000);
  std::vector<SecretHash> hashes;
  for (const auto& codes : seeded.codes()) {
    hashes.push_back(deviceCodeKey(codes.device_code));
  }
  std::size_t n = 0;
  for (auto _ : state) {
    auto found = seeded.store().findByDeviceCode(hashes[n++ % hashes.size()]);
    if (!found || !found->has_value()) {
      state.SkipWithError("lookup failed");
      break;
    }
  }
}
BENCHMARK(BM_StoreFindByDeviceCode)->Arg(1000)->Arg(20000);

void BM_StoreUpdatePollState(benchmark::State& state) {
  constexpr std::size_t kRows = 1000;
  SeededStore seeded(static_cast<std::size_t>(state.range(0)), kRows);
  // The stored polling state of each kept row, used as the compare-and-set condition.
  std::vector<PollState> current(kRows, PollState{std::nullopt, seconds(5)});
  std::size_t n = 0;
  for (auto _ : state) {
    const std::size_t i = n++ % kRows;
    const PollState updated{seeded.now() + milliseconds(n), seconds(5)};
    auto stored = seeded.store().updatePollState(seeded.codes()[i].id, current[i], updated);
    if (!stored || !*stored) {
      state.SkipWithError("update failed");
      break;
    }
    current[i] = updated;
  }
}
BENCHMARK(BM_StoreUpdatePollState)->Arg(1000)->Arg(20000);

// The one store operation of a poll of a pending code (Store::pollPending), which replaces
// findByDeviceCode followed by updatePollState. Each round over the kept codes is one interval
// later than the one before, so every poll is accepted and writes its polling state.
void BM_StorePollPending(benchmark::State& state) {
  constexpr std::size_t kRows = 1000;
  SeededStore seeded(static_cast<std::size_t>(state.range(0)), kRows);
  std::vector<SecretHash> hashes;
  for (const auto& codes : seeded.codes()) {
    hashes.push_back(deviceCodeKey(codes.device_code));
  }
  const PollPolicy policy{};
  const TimePoint start = seeded.now();
  std::size_t n = 0;
  for (auto _ : state) {
    const TimePoint now = start + seconds(5) * static_cast<long long>(n / kRows);
    auto polled = seeded.store().pollPending(hashes[n++ % kRows], kClientId, now, policy);
    if (!polled || !polled->has_value() || (*polled)->outcome != PollOutcome::Pending) {
      state.SkipWithError("poll failed");
      break;
    }
  }
}
BENCHMARK(BM_StorePollPending)->Arg(1000)->Arg(20000);

void BM_StoreApprove(benchmark::State& state) {
  constexpr std::size_t kRows = 2000;
  SeededStore seeded(static_cast<std::size_t>(state.range(0)), kRows);
  std::size_t n = 0;
  for (auto _ : state) {
    auto approved =
        seeded.store().approve(seeded.codes()[n++].id, "customer", std::nullopt, seeded.now());
    if (!approved || !*approved) {
      state.SkipWithError("approve failed");
      break;
    }
  }
}
// Each iteration approves a distinct pending row, so the count is fixed below the rows kept.
BENCHMARK(BM_StoreApprove)->Arg(2000)->Arg(20000)->Iterations(1000);

}  // namespace
}  // namespace devauth

// devauth_bench_seed: prepares a devauth store for make bench. It creates the schema, the
// public client bench-tv and, with --backend-secret, the approving backend bench-backend. Then,
// in a SQLite store only, it inserts --rows pending device authorizations for bench-tv in one
// transaction. The device code
// and user code of the first --keep rows go to --codes-out, one "DEVICE USER" pair a line.

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>

#include "bulk_seed.h"
#include "core/secret.h"
#include "store/store.h"

namespace {

constexpr const char* kPublicClient = "bench-tv";
constexpr const char* kBackendClient = "bench-backend";

bool addClient(devauth::Store& store, const devauth::Client& client) {
  auto inserted = store.insertClient(client);
  if (!inserted && inserted.error().kind != devauth::StoreError::Kind::Conflict) {
    std::cerr << "devauth_bench_seed: cannot add client " << client.id << ": "
              << inserted.error().message << "\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::string codes_out;
  std::string backend_secret;
  std::size_t rows = 0;
  std::size_t keep = 0;
  long ttl = 1800;

  CLI::App app("Prepare a devauth store for the benchmarks");
  app.add_option("--store", path,
                 "Store location: a SQLite file, or a PostgreSQL URL with --rows 0")
      ->required();
  app.add_option("--rows", rows, "Pending device authorizations to insert");
  app.add_option("--keep", keep, "Rows whose codes are written to --codes-out");
  app.add_option("--codes-out", codes_out, "File for the kept codes");
  app.add_option("--ttl", ttl, "Lifetime of the inserted authorizations, in seconds");
  app.add_option("--backend-secret", backend_secret, "Client secret of bench-backend");
  CLI11_PARSE(app, argc, argv);

  auto opened = devauth::openStore(path);
  if (!opened) {
    std::cerr << "devauth_bench_seed: cannot open " << path << ": " << opened.error().message
              << "\n";
    return 1;
  }
  devauth::Store& store = **opened;
  if (auto migrated = store.migrate(); !migrated) {
    std::cerr << "devauth_bench_seed: cannot migrate: " << migrated.error().message << "\n";
    return 1;
  }

  devauth::SystemClock clock;
  devauth::Client tv;
  tv.id = kPublicClient;
  tv.name = "Benchmark TV";
  tv.type = devauth::ClientType::Public;
  tv.allowed_scopes = {"profile"};
  tv.default_scopes = {"profile"};
  tv.created_at = clock.now();
  if (!addClient(store, tv)) {
    return 1;
  }
  if (!backend_secret.empty()) {
    devauth::Client backend;
    backend.id = kBackendClient;
    backend.name = "Benchmark backend";
    backend.type = devauth::ClientType::Confidential;
    backend.secret_hash = devauth::hashSecret(backend_secret);
    backend.may_approve = true;
    backend.device_grant = false;
    backend.created_at = clock.now();
    if (!addClient(store, backend)) {
      return 1;
    }
  }
  opened->reset();
  // Only the clients: a PostgreSQL store, or a store that begin requests fill.
  if (rows == 0) {
    return 0;
  }

  devauth::bench::SeedOptions options;
  options.client_id = kPublicClient;
  options.scope = "profile";
  options.rows = rows;
  options.kept_codes = std::min(keep, rows);
  options.now = clock.now();
  options.ttl = devauth::seconds(ttl);
  auto seeded = devauth::bench::seedAuthorizations(path, options);
  if (!seeded) {
    std::cerr << "devauth_bench_seed: " << seeded.error() << "\n";
    return 1;
  }
  if (!codes_out.empty()) {
    std::ofstream out(codes_out);
    for (const auto& codes : *seeded) {
      out << codes.device_code << ' ' << codes.user_code << '\n';
    }
    if (!out) {
      std::cerr << "devauth_bench_seed: cannot write " << codes_out << "\n";
      return 1;
    }
  }
  return 0;
}

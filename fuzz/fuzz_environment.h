#pragma once

// The router with every route of the server, over a SQLite store in a temporary directory,
// shared by the fuzz targets that drive whole requests. Built once per process.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <system_error>

#include "core/client.h"
#include "core/secret.h"
#include "http/router.h"
#include "server/config.h"
#include "server/routes.h"
#include "server/services.h"
#include "store/store.h"

namespace devauth::fuzzing {

inline constexpr char kConfidentialClientId[] = "conf1";
inline constexpr char kConfidentialSecret[] = "conf1-secret-0123456789";
inline constexpr char kApproverClientId[] = "bank";
inline constexpr char kApproverSecret[] = "bank-secret-0123456789";
inline constexpr char kPublicClientId[] = "pub1";

// A fixed instant: expiry and polling intervals do not depend on when the fuzzer runs.
class FixedClock final : public Clock {
 public:
  TimePoint now() const override { return fromUnixMillis(1'800'000'000'000); }
};

// A fixed-seed generator, so that runs are reproducible from their input alone. Its period is
// long enough that session ids and codes never repeat within a run.
class SeededRandom final : public RandomSource {
 public:
  void fill(std::span<std::uint8_t> out) override {
    for (auto& byte : out) {
      byte = static_cast<std::uint8_t>(engine_());
    }
  }

 private:
  std::mt19937_64 engine_{8628};
};

class Environment {
 public:
  static Environment& instance() {
    static Environment* environment = new Environment();
    return *environment;
  }

  const http::Router& router() const { return router_; }

 private:
  Environment() {
    // tmpfs keeps SQLite's fsync at every commit cheap.
    const std::filesystem::path base =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    directory_ = base / ("devauth-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(instance().directory_, ignored);
    });
    config_.store = (directory_ / "devauth.db").string();

    auto opened = openStore(config_.store);
    if (!opened) {
      std::fprintf(stderr, "fuzz: opening the store failed: %s\n", opened.error().message.c_str());
      std::abort();
    }
    store_ = std::move(*opened);
    auto migrated = store_->migrate();
    if (!migrated) {
      std::fprintf(stderr, "fuzz: migrating the store failed: %s\n",
                   migrated.error().message.c_str());
      std::abort();
    }
    addClient(kPublicClientId, ClientType::Public, "", false);
    addClient(kConfidentialClientId, ClientType::Confidential, kConfidentialSecret, false);
    addClient(kApproverClientId, ClientType::Confidential, kApproverSecret, true);

    services_ = std::make_unique<Services>(Services{config_, *store_, clock_, random_});
    current_services_.store(services_.get());
    registerRoutes(router_, current_services_);
  }

  void addClient(const std::string& id, ClientType type, const std::string& secret,
                 bool may_approve) {
    Client client;
    client.id = id;
    client.name = "Client " + id;
    client.type = type;
    if (type == ClientType::Confidential) {
      client.secret_hash = hashSecret(secret);
    }
    client.allowed_scopes = {"read", "write"};
    client.default_scopes = {"read"};
    client.may_approve = may_approve;
    client.created_at = clock_.now();
    auto inserted = store_->insertClient(client);
    if (!inserted) {
      std::fprintf(stderr, "fuzz: inserting client %s failed: %s\n", id.c_str(),
                   inserted.error().message.c_str());
      std::abort();
    }
  }

  std::filesystem::path directory_;
  Config config_;
  FixedClock clock_;
  SeededRandom random_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Services> services_;
  CurrentServices current_services_{nullptr};
  http::Router router_;
};

}  // namespace devauth::fuzzing

#pragma once

// Runs a real devauth App in-process on a free loopback port with a fresh SQLite file in a
// temporary directory, a ManualClock and a seeded random source.

#include <filesystem>
#include <memory>
#include <string>

#include "server/app.h"
#include "support/fixed_random.h"
#include "support/manual_clock.h"

namespace devauth::testing {

class TestServer {
 public:
  // `adjust` may change the configuration before start (lifetimes, interval, limits).
  explicit TestServer(const std::function<void(Config&)>& adjust = {});
  ~TestServer();

  std::uint16_t port() const { return app_->port(); }
  // Stops the server as SIGTERM does; the destructor then only removes the directory.
  void stop() { app_->stop(); }
  // Applies the reloadable settings of `reloaded`, as SIGHUP does.
  void reload(const Config& reloaded) { app_->reload(reloaded); }
  Store& store() { return app_->store(); }
  ManualClock& clock() { return clock_; }
  FixedRandom& random() { return random_; }
  const Config& config() const { return app_->config(); }
  const std::filesystem::path& directory() const { return directory_; }

  // Registers a public client allowed the device grant and `scopes` (also its default).
  void addPublicClient(const std::string& id, const std::vector<std::string>& scopes = {"read"});
  // Registers a confidential client with `secret`; `may_approve` allows the approval API.
  void addConfidentialClient(const std::string& id, const std::string& secret,
                             bool may_approve = false,
                             const std::vector<std::string>& scopes = {"read"});
  // Registers a local user with `password`; the subject is "sub-" + username.
  void addUser(const std::string& username, const std::string& password);

 private:
  std::filesystem::path directory_;
  ManualClock clock_;
  FixedRandom random_;
  std::unique_ptr<App> app_;
};

}  // namespace devauth::testing

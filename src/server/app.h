#pragma once

// The wiring of `devauth serve`: opens and migrates the store, registers the routes, runs the
// HTTP server and the background purge, and shuts them down in order.

#include <memory>
#include <optional>

#include "core/clock.h"
#include "core/random.h"
#include "server/config.h"
#include "store/store.h"

namespace devauth {

class App {
 public:
  // `clock` and `random` must outlive the App. Nothing starts until start().
  App(Config config, const Clock& clock, RandomSource& random);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Opens and migrates the store, starts the purge and the HTTP server. Fails without
  // throwing when the store cannot be opened or migrated; throws std::system_error when the
  // listen address cannot be bound.
  StoreResult<void> start();

  // Graceful shutdown: stop accepting, finish requests in flight, stop the purge, close the
  // store. Safe to call more than once and from a signal-handling thread.
  void stop();

  // Blocks until stop() has completed.
  void wait();

  // The bound port; valid after start().
  std::uint16_t port() const;

  // The open store; valid after start() and until stop().
  Store& store();

  // The configuration in force: the one given, or the last reload's.
  const Config& config() const;

  // Applies the settings of `reloaded` that can change without a restart (server/settings.h
  // marks them) and logs the keys of the others that differ. Requests that arrive afterwards
  // see the new values; requests in flight finish with the old ones. Thread-safe.
  void reload(const Config& reloaded);

  // The port of the separate metrics listener, when metrics_listen names one.
  std::optional<std::uint16_t> metricsPort() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace devauth

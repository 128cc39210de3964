#include "server/app.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "http/router.h"
#include "http/server.h"
#include "server/routes.h"
#include "server/services.h"
#include "store/store_location.h"

namespace devauth {
namespace {

unsigned effectiveThreadCount(unsigned configured) {
  if (configured != 0) {
    return configured;
  }
  return std::max(1U, std::thread::hardware_concurrency());
}

// The HTTP options for `config`. Handlers run on a handler pool of two threads per core by
// default, off the I/O threads: with either store some handlers block, on the network
// (PostgreSQL), on a synced commit (about 4 ms on a virtual disk), or in argon2id at sign-in.
// Measured with make bench on SQLite, the pool kept the polling rate, cost about 2 µs of CPU
// per poll, and raised the rate of device authorization requests (docs/benchmarks.md).
http::ServerOptions serverOptions(const Config& config) {
  http::ServerOptions options = config.http;
  if (options.handler_threads == 0) {
    options.handler_threads = 2 * effectiveThreadCount(0);
  }
  return options;
}

}  // namespace

struct App::Impl {
  Impl(Config config, const Clock& clock, RandomSource& random)
      : config(std::move(config)), clock(clock), random(random) {}

  StoreResult<void> openAndMigrate();
  void startPurge();
  void runPurge();
  void purgeOnce();
  void stopPurge();

  Config config;
  const Clock& clock;
  RandomSource& random;

  std::unique_ptr<Store> store;
  std::unique_ptr<SigningKeys> signing_keys;
  std::optional<Services> services;
  http::Router router;
  std::unique_ptr<http::Server> server;

  std::thread purge_thread;
  std::mutex purge_mutex;
  std::condition_variable purge_wakeup;
  bool purge_stopping = false;  // guarded by purge_mutex

  // Serialises start() and stop(), so that concurrent stop() calls run the shutdown once.
  std::mutex lifecycle_mutex;
  std::condition_variable stopped_signal;
  bool started = false;  // guarded by lifecycle_mutex
  bool stopped = false;  // guarded by lifecycle_mutex
};

StoreResult<void> App::Impl::openAndMigrate() {
  auto opened = openStore(config.store);
  if (!opened) {
    return unexpected(opened.error());
  }
  auto migrated = (*opened)->migrate();
  if (!migrated) {
    return unexpected(migrated.error());
  }
  store = std::move(opened.value());
  return {};
}

void App::Impl::startPurge() {
  {
    std::lock_guard lock(purge_mutex);
    purge_stopping = false;
  }
  purge_thread = std::thread([this] { runPurge(); });
}

void App::Impl::runPurge() {
  std::unique_lock lock(purge_mutex);
  while (!purge_wakeup.wait_for(lock, config.purge_period, [this] { return purge_stopping; })) {
    lock.unlock();
    purgeOnce();
    lock.lock();
  }
}

void App::Impl::purgeOnce() {
  const TimePoint now = clock.now();
  auto purged = store->purgeExpired(now - config.purge_grace, now);
  if (!purged) {
    spdlog::warn("event=purge_failed error=\"{}\"", purged.error().message);
    return;
  }
  spdlog::debug("event=purge_done authorizations={}", purged.value());

  // Automatic key rotation by age and removal of retired keys ride on the purge period.
  auto maintained = signing_keys->maintain();
  if (!maintained) {
    spdlog::warn("event=signing_key_maintenance_failed error=\"{}\"", maintained.error());
  }
}

void App::Impl::stopPurge() {
  {
    std::lock_guard lock(purge_mutex);
    purge_stopping = true;
  }
  purge_wakeup.notify_all();
  if (purge_thread.joinable()) {
    purge_thread.join();
  }
}

App::App(Config config, const Clock& clock, RandomSource& random)
    : impl_(std::make_unique<Impl>(std::move(config), clock, random)) {}

App::~App() { stop(); }

StoreResult<void> App::start() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->started || impl_->stopped) {
    return unexpected(StoreError{StoreError::Kind::Internal, "App::start() may be called once"});
  }
  const std::string store_name = redactStoreLocation(impl_->config.store);

  auto opened = impl_->openAndMigrate();
  if (!opened) {
    spdlog::error("event=store_open_failed store={} error=\"{}\"", store_name,
                  opened.error().message);
    return opened;
  }

  impl_->signing_keys = std::make_unique<SigningKeys>(*impl_->store, impl_->clock,
                                                      impl_->config.signing, impl_->config.store);
  impl_->services.emplace(Services{impl_->config, *impl_->store, impl_->clock, impl_->random,
                                   impl_->signing_keys.get()});
  registerRoutes(impl_->router, *impl_->services);
  impl_->server = std::make_unique<http::Server>(serverOptions(impl_->config), impl_->router);
  try {
    impl_->server->start();
  } catch (const std::exception& error) {
    spdlog::error("event=listen_failed address={} port={} error=\"{}\"", impl_->config.http.address,
                  impl_->config.http.port, error.what());
    impl_->server.reset();
    impl_->router = http::Router();
    impl_->services.reset();
    impl_->signing_keys.reset();
    impl_->store.reset();
    throw;
  }

  impl_->startPurge();
  impl_->started = true;
  spdlog::info("event=server_started address={} port={} store={} threads={}",
               impl_->config.http.address, impl_->server->port(), store_name,
               effectiveThreadCount(impl_->config.http.io_threads));
  return {};
}

void App::stop() {
  std::unique_lock lock(impl_->lifecycle_mutex);
  if (impl_->stopped) {
    return;
  }
  if (impl_->started) {
    spdlog::info("event=server_stopping");
    impl_->server->stop();
    impl_->stopPurge();
    impl_->server.reset();
    impl_->services.reset();
    impl_->signing_keys.reset();
    impl_->store.reset();
    spdlog::info("event=server_stopped");
  }
  impl_->stopped = true;
  lock.unlock();
  impl_->stopped_signal.notify_all();
}

void App::wait() {
  std::unique_lock lock(impl_->lifecycle_mutex);
  impl_->stopped_signal.wait(lock, [this] { return impl_->stopped; });
}

std::uint16_t App::port() const {
  if (!impl_->server) {
    throw std::logic_error("App::port() called before start()");
  }
  return impl_->server->port();
}

Store& App::store() {
  if (!impl_->store) {
    throw std::logic_error("App::store() called before start() or after stop()");
  }
  return *impl_->store;
}

const Config& App::config() const { return impl_->config; }

}  // namespace devauth

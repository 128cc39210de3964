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
#include "metrics/metrics.h"
#include "oauth/held_polls.h"
#include "oauth/slow_down_cache.h"
#include "server/logging.h"
#include "server/routes.h"
#include "server/services.h"
#include "server/settings.h"
#include "store/store_location.h"

namespace devauth {
namespace {

// The HTTP options for `config`. Handlers run on a handler pool of two threads per core by
// default, off the I/O threads: with either store some handlers block, on the network
// (PostgreSQL), on a synced commit (about 4 ms on a virtual disk), or in argon2id at sign-in.
// One thread per core runs at a time unless others wait (HandlerPool), so the extra threads
// cost no preemption while nothing waits (docs/benchmarks.md).
http::ServerOptions serverOptions(const Config& config) {
  http::ServerOptions options = config.http;
  if (options.handler_threads == 0) {
    options.handler_threads = 2 * http::threadCount(0);
  }
  return options;
}

// The listen address of a separate metrics listener: metrics_listen as HOST:PORT, with an IPv6
// host in brackets. Empty when /metrics is served on the main listener or nowhere.
std::optional<http::ServerOptions> metricsServerOptions(const Config& config) {
  const std::string& listen = config.metrics_listen;
  if (listen.empty() || listen == "off") {
    return std::nullopt;
  }
  const auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  http::ServerOptions options;
  options.address = host;
  options.port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));
  options.io_threads = 1;
  return options;
}

}  // namespace

// One published configuration and the Services built on it.
struct Generation {
  Generation(const Config& published, Store& store, const Clock& clock, RandomSource& random,
             SigningKeys* signing_keys, oauth::HeldPolls* held_polls,
             oauth::SlowDownCache* slow_downs)
      : config(published), services{config,       store,      clock,     random,
                                    signing_keys, held_polls, slow_downs} {}

  Config config;
  Services services;
};

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
  // Every configuration published since start(), kept until stop() so that a request that loaded
  // an older one can finish with it.
  std::vector<std::unique_ptr<Generation>> generations;  // guarded by lifecycle_mutex
  CurrentServices current{nullptr};
  http::Router router;
  std::unique_ptr<http::Server> server;
  http::Router metrics_router;
  std::unique_ptr<http::Server> metrics_server;

  void publish(const Config& published);
  void startMetricsServer();
  void watchDecisions();

  // Polls held with Prefer: wait, shared by every generation so that the bounds hold across
  // reloads, and the feed that wakes them on decisions of this and other instances.
  std::unique_ptr<oauth::HeldPolls> held_polls;
  std::unique_ptr<DecisionFeed> decision_feed;
  // The device codes whose too-early polls the I/O threads respond to. The feed above drops
  // decided codes from it, and publish() resets it, since a reload may change the polling policy.
  std::unique_ptr<oauth::SlowDownCache> slow_downs;

  std::thread purge_thread;
  std::mutex purge_mutex;
  std::condition_variable purge_wakeup;
  bool purge_stopping = false;  // guarded by purge_mutex

  // Serialises start() and stop(), so that concurrent stop() calls run the shutdown once.
  mutable std::mutex lifecycle_mutex;
  std::condition_variable stopped_signal;
  bool started = false;  // guarded by lifecycle_mutex
  bool stopped = false;  // guarded by lifecycle_mutex
};

StoreResult<void> App::Impl::openAndMigrate() {
  auto opened = openStore(config.store, StoreOptions{config.store_cache_mib * 1024});
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

void App::Impl::publish(const Config& published) {
  auto generation = std::make_unique<Generation>(
      published, *store, clock, random, signing_keys.get(), held_polls.get(), slow_downs.get());
  current.store(&generation->services, std::memory_order_release);
  // After the store above: entries remembered under the old polling policy are dropped, and
  // requests still running with it cannot add new ones.
  slow_downs->reset(&generation->config.poll_policy);
  generations.push_back(std::move(generation));
}

void App::Impl::startMetricsServer() {
  auto options = metricsServerOptions(config);
  if (!options) {
    return;
  }
  registerMetricsRoute(metrics_router, current);
  metrics_server = std::make_unique<http::Server>(*options, metrics_router);
  metrics_server->start();
}

void App::Impl::watchDecisions() {
  oauth::HeldPolls* polls = held_polls.get();
  oauth::SlowDownCache* early = slow_downs.get();
  auto feed = store->watchDecisions(
      [polls, early](const std::string& authorization_id) {
        early->forget(authorization_id);
        if (authorization_id.empty()) {
          polls->wakeAll();
        } else {
          polls->wake(authorization_id);
        }
      },
      [polls] { return polls->size() > 0; });
  if (!feed) {
    // Held polls still end at once on decisions made here, and at the end of their wait
    // otherwise.
    spdlog::warn("event=decision_watch_failed error=\"{}\"", feed.error().message);
    return;
  }
  decision_feed = std::move(feed).value();
  // Without the feed, a decision would not drop the code's entry, so polls of every code go to
  // the store.
  slow_downs->enable();
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
  while (!purge_wakeup.wait_for(lock, current.load()->config.purge_period,
                                [this] { return purge_stopping; })) {
    lock.unlock();
    purgeOnce();
    lock.lock();
  }
}

void App::Impl::purgeOnce() {
  const TimePoint now = clock.now();
  auto purged = store->purgeExpired(now - current.load()->config.purge_grace, now);
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
  impl_->held_polls = std::make_unique<oauth::HeldPolls>();
  impl_->slow_downs = std::make_unique<oauth::SlowDownCache>();
  impl_->publish(impl_->config);
  registerRoutes(impl_->router, impl_->current, impl_->config.metrics_listen.empty());
  impl_->server = std::make_unique<http::Server>(serverOptions(impl_->config), impl_->router);
  try {
    impl_->server->start();
    impl_->startMetricsServer();
  } catch (const std::exception& error) {
    spdlog::error("event=listen_failed address={} port={} error=\"{}\"", impl_->config.http.address,
                  impl_->config.http.port, error.what());
    if (impl_->server) {
      impl_->server->stop();
    }
    impl_->server.reset();
    impl_->metrics_server.reset();
    impl_->router = http::Router();
    impl_->metrics_router = http::Router();
    impl_->current.store(nullptr);
    impl_->generations.clear();
    impl_->held_polls.reset();
    impl_->signing_keys.reset();
    impl_->store.reset();
    throw;
  }
  Store* live_store = impl_->store.get();
  const Clock* live_clock = &impl_->clock;
  metrics::setLiveAuthorizationsSource({[live_store, live_clock]() -> std::optional<double> {
    auto count = live_store->countAllLiveAuthorizations(live_clock->now());
    if (!count) {
      return std::nullopt;
    }
    return static_cast<double>(*count);
  }});

  impl_->watchDecisions();
  impl_->startPurge();
  impl_->started = true;
  spdlog::info("event=server_started address={} port={} store={} threads={}",
               impl_->config.http.address, impl_->server->port(), store_name,
               http::threadCount(impl_->config.http.io_threads));
  return {};
}

void App::stop() {
  std::unique_lock lock(impl_->lifecycle_mutex);
  if (impl_->stopped) {
    return;
  }
  if (impl_->started) {
    spdlog::info("event=server_stopping");
    metrics::setLiveAuthorizationsSource({});
    if (impl_->metrics_server) {
      impl_->metrics_server->stop();
    }
    // Stopping the server answers the held polls, so none is left when the feed stops. The held
    // polls refer to the server's executors and go before the server does.
    impl_->server->stop();
    // Queued rows of begins complete their requests through the server's executors, which
    // still exist until the server is reset.
    impl_->store->finishBackgroundInserts();
    impl_->decision_feed.reset();
    impl_->held_polls.reset();
    impl_->stopPurge();
    impl_->server.reset();
    impl_->metrics_server.reset();
    impl_->current.store(nullptr);
    impl_->generations.clear();
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

const Config& App::config() const {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->generations.empty()) {
    return impl_->config;
  }
  return impl_->generations.back()->config;
}

std::optional<std::uint16_t> App::metricsPort() const {
  if (!impl_->metrics_server) {
    return std::nullopt;
  }
  return impl_->metrics_server->port();
}

void App::reload(const Config& reloaded) {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (!impl_->started || impl_->stopped) {
    return;
  }
  Config next = impl_->generations.back()->config;
  const std::vector<std::string> need_restart = applyReloadable(next, reloaded);
  reconfigureLogging(next.log_level, next.log_format);
  impl_->publish(next);
  for (const auto& key : need_restart) {
    spdlog::warn(
        "event=config_reload_skipped key={} error=\"this setting changes only on restart\"", key);
  }
  spdlog::info("event=config_reloaded log_level={} generation={}", next.log_level,
               impl_->generations.size());
  // Wakes the purge, which purges once and then waits the new period.
  impl_->purge_wakeup.notify_all();
}

}  // namespace devauth

#pragma once

// A small, bounded, thread-safe cache of registered clients, so that the client lookup on every
// OAuth request does not reach the database. Entries live for a short time-to-live: a client
// removed, or a secret changed, by another process (the `devauth client` command or another
// instance) stops working within that time. Changes made through the same store take effect at
// once, because the store forgets the entry. Unknown client ids are not cached, so a client
// registered elsewhere works at once and lookups of made-up ids cannot fill the cache.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "core/client.h"

namespace devauth {

class ClientCache {
 public:
  using SteadyClock = std::chrono::steady_clock;

  // The default time-to-live; docs/deployment.md states it for operators.
  static constexpr std::chrono::milliseconds kDefaultTtl{1000};
  static constexpr std::size_t kDefaultCapacity = 1024;

  // A `ttl` of zero turns the cache off. `now` is replaceable for tests.
  explicit ClientCache(std::chrono::milliseconds ttl = kDefaultTtl,
                       std::size_t capacity = kDefaultCapacity,
                       std::function<SteadyClock::time_point()> now = &SteadyClock::now);

  // The cached client, or nullopt when `client_id` is not cached or its entry expired.
  std::optional<Client> find(const std::string& client_id);

  // A number that changes whenever an entry is forgotten. Take it before reading a client from
  // the database and pass it to remember(), so that a read racing with a change is not cached.
  std::uint64_t generation();

  // Caches `client` for the time-to-live, unless forget() ran since `generation` was taken.
  // When the cache is full, expired entries are dropped first, then an arbitrary one.
  void remember(const Client& client, std::uint64_t generation);

  // Drops the entry of `client_id`, after the store changed or removed that client.
  void forget(const std::string& client_id);

  std::size_t size();

 private:
  struct Entry {
    // The cached client, shared so that find() copies it after releasing the lock.
    std::shared_ptr<const Client> client;
    SteadyClock::time_point expires_at;
  };

  const std::chrono::milliseconds ttl_;
  const std::size_t capacity_;
  const std::function<SteadyClock::time_point()> now_;
  // Lookups, on every OAuth request and on both I/O threads at once, share the lock. With an
  // exclusive lock, a thread preempted while holding it stalled the other thread's connections
  // for a scheduler time slice.
  std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mutex_
  std::uint64_t generation_ = 0;                    // guarded by mutex_
};

}  // namespace devauth

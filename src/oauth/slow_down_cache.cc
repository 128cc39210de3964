#include "oauth/slow_down_cache.h"

#include <iterator>

namespace devauth::oauth {
namespace {

// How often a full cache looks for entries whose time has passed. A cache full of live entries
// would otherwise scan them on every remember().
constexpr std::chrono::seconds kSweepPeriod{1};

}  // namespace

SlowDownCache::SlowDownCache(std::size_t capacity) : capacity_(capacity) {}

void SlowDownCache::enable() {
  std::lock_guard lock(mutex_);
  enabled_ = true;
}

std::uint64_t SlowDownCache::generation() {
  std::shared_lock lock(mutex_);
  return generation_;
}

void SlowDownCache::remember(const SecretHash& device_code_hash,
                             const std::string& authorization_id, const std::string& client_id,
                             TimePoint until, const PollPolicy* policy, std::uint64_t generation,
                             TimePoint now) {
  std::lock_guard lock(mutex_);
  if (!enabled_ || policy != policy_ || generation != generation_ || until <= now) {
    return;
  }
  if (auto existing = entries_.find(device_code_hash); existing != entries_.end()) {
    existing->second.until = until;
    return;
  }
  if (entries_.size() >= capacity_) {
    dropPassedLocked(now);
    if (entries_.size() >= capacity_) {
      return;
    }
  }
  entries_.emplace(device_code_hash, Entry{authorization_id, client_id, until});
  by_authorization_.insert_or_assign(authorization_id, device_code_hash);
}

bool SlowDownCache::isTooEarly(const SecretHash& device_code_hash, std::string_view client_id,
                               TimePoint now) {
  {
    std::shared_lock lock(mutex_);
    const auto entry = entries_.find(device_code_hash);
    if (entry == entries_.end()) {
      return false;
    }
    if (now < entry->second.until) {
      return entry->second.client_id == client_id;
    }
  }
  // The entry's time has passed: drop it, unless remember() moved its time in the meantime.
  std::lock_guard lock(mutex_);
  const auto entry = entries_.find(device_code_hash);
  if (entry != entries_.end() && now >= entry->second.until) {
    eraseLocked(entry);
  }
  return false;
}

void SlowDownCache::forget(const std::string& authorization_id) {
  std::lock_guard lock(mutex_);
  if (authorization_id.empty()) {
    clearLocked();
    return;
  }
  ++generation_;
  const auto indexed = by_authorization_.find(authorization_id);
  if (indexed == by_authorization_.end()) {
    return;
  }
  const auto entry = entries_.find(indexed->second);
  if (entry != entries_.end()) {
    eraseLocked(entry);
  } else {
    by_authorization_.erase(indexed);
  }
}

void SlowDownCache::forgetCode(const SecretHash& device_code_hash) {
  std::lock_guard lock(mutex_);
  ++generation_;
  const auto entry = entries_.find(device_code_hash);
  if (entry != entries_.end()) {
    eraseLocked(entry);
  }
}

void SlowDownCache::reset(const PollPolicy* policy) {
  std::lock_guard lock(mutex_);
  policy_ = policy;
  clearLocked();
}

std::size_t SlowDownCache::size() {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

void SlowDownCache::clearLocked() {
  ++generation_;
  entries_.clear();
  by_authorization_.clear();
}

void SlowDownCache::eraseLocked(Entries::iterator entry) {
  by_authorization_.erase(entry->second.authorization_id);
  entries_.erase(entry);
}

void SlowDownCache::dropPassedLocked(TimePoint now) {
  if (now - last_sweep_ < kSweepPeriod) {
    return;
  }
  last_sweep_ = now;
  for (auto entry = entries_.begin(); entry != entries_.end();) {
    const auto next = std::next(entry);
    if (now >= entry->second.until) {
      eraseLocked(entry);
    }
    entry = next;
  }
}

}  // namespace devauth::oauth

#include "store/client_cache.h"

#include <utility>

namespace devauth {

ClientCache::ClientCache(std::chrono::milliseconds ttl, std::size_t capacity,
                         std::function<SteadyClock::time_point()> now)
    : ttl_(ttl), capacity_(capacity), now_(std::move(now)) {}

std::optional<Client> ClientCache::find(const std::string& client_id) {
  if (ttl_.count() <= 0) {
    return std::nullopt;
  }
  const auto now = now_();
  std::shared_ptr<const Client> client;
  {
    std::shared_lock lock(mutex_);
    const auto found = entries_.find(client_id);
    if (found == entries_.end()) {
      return std::nullopt;
    }
    if (found->second.expires_at > now) {
      client = found->second.client;
    }
  }
  if (client) {
    return *client;
  }
  // The entry expired: drop it, unless remember() renewed it in the meantime.
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(client_id);
  if (found != entries_.end() && found->second.expires_at <= now) {
    entries_.erase(found);
  }
  return std::nullopt;
}

std::uint64_t ClientCache::generation() {
  std::shared_lock lock(mutex_);
  return generation_;
}

void ClientCache::remember(const Client& client, std::uint64_t generation) {
  if (ttl_.count() <= 0 || capacity_ == 0) {
    return;
  }
  const auto now = now_();
  std::lock_guard lock(mutex_);
  if (generation != generation_) {
    return;
  }
  if (entries_.size() >= capacity_ && !entries_.contains(client.id)) {
    std::erase_if(entries_, [now](const auto& entry) { return entry.second.expires_at <= now; });
    if (entries_.size() >= capacity_) {
      entries_.erase(entries_.begin());
    }
  }
  entries_.insert_or_assign(client.id, Entry{std::make_shared<const Client>(client), now + ttl_});
}

void ClientCache::forget(const std::string& client_id) {
  std::lock_guard lock(mutex_);
  entries_.erase(client_id);
  ++generation_;
}

std::size_t ClientCache::size() {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

}  // namespace devauth

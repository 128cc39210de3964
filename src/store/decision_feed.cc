#include "store/decision_feed.h"

#include <vector>

namespace devauth {

std::uint64_t LocalDecisions::subscribe(DecisionCallback callback) {
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  callbacks_.emplace(id, std::move(callback));
  return id;
}

void LocalDecisions::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  callbacks_.erase(id);
}

void LocalDecisions::publish(const std::string& authorization_id) {
  // The callbacks run without the lock, so that one may unsubscribe.
  std::vector<DecisionCallback> callbacks;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, callback] : callbacks_) {
      callbacks.push_back(callback);
    }
  }
  for (const auto& callback : callbacks) {
    callback(authorization_id);
  }
}

}  // namespace devauth

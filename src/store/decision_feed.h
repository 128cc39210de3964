#pragma once

// Notices that device authorizations were approved or denied, so that held device token polls
// (oauth/held_polls.h) get their response at once. Each backend delivers decisions made through
// the same Store object directly, and those of other Store objects and processes on the same
// database through a watcher of its own (PostgreSQL LISTEN/NOTIFY, SQLite PRAGMA data_version).

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace devauth {

// Receives the id of a decided authorization, or "" when the source cannot tell which
// authorization changed (every held poll then re-reads its own). Runs on the thread that made
// the decision or on the feed's thread, so it must return quickly.
using DecisionCallback = std::function<void(const std::string& authorization_id)>;

// A running delivery of decisions to one callback. Destroying it stops the delivery (and joins
// the feed's thread); it must be destroyed before the Store that opened it.
class DecisionFeed {
 public:
  virtual ~DecisionFeed() = default;
};

// The subscribers to decisions made through one Store object. Thread-safe.
class LocalDecisions {
 public:
  // Returns the subscription's id for unsubscribe().
  std::uint64_t subscribe(DecisionCallback callback);
  void unsubscribe(std::uint64_t id);
  // Calls every subscriber with `authorization_id` on this thread.
  void publish(const std::string& authorization_id);

 private:
  std::mutex mutex_;
  std::uint64_t next_id_ = 0;                            // guarded by mutex_
  std::map<std::uint64_t, DecisionCallback> callbacks_;  // guarded by mutex_
};

}  // namespace devauth

#pragma once

// The bookkeeping of a bounded connection pool, shared by the SQLite and the PostgreSQL pools:
// the idle connections, the count of open ones, and the wait for a free one. How a connection
// is opened, and whether one can be reused, is each pool's own business.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "core/blocking.h"

namespace devauth {

template <typename Connection>
class ConnectionSlots {
 public:
  // What take() got. With `granted` false, the wait ran out. Otherwise `idle` holds an idle
  // connection, or is null when a slot is reserved for a connection that the caller opens.
  struct Checkout {
    bool granted = false;
    std::unique_ptr<Connection> idle;
  };

  explicit ConnectionSlots(std::size_t max_connections) : max_connections_(max_connections) {}

  // Takes the most recently returned idle connection, or reserves a slot while fewer than
  // max_connections are open, waiting up to `timeout` for either.
  Checkout take(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const auto can_take = [this] { return !idle_.empty() || open_count_ < max_connections_; };
    bool ready = can_take();
    if (!ready) {
      const BlockingRegion waiting;
      ready = returned_.wait_for(lock, timeout, can_take);
    }
    Checkout checkout;
    if (!ready) {
      return checkout;
    }
    checkout.granted = true;
    if (!idle_.empty()) {
      checkout.idle = std::move(idle_.back());
      idle_.pop_back();
    } else {
      ++open_count_;
    }
    return checkout;
  }

  // Frees the slot that take() reserved, when opening the connection failed.
  void abandon() {
    {
      const std::lock_guard lock(mutex_);
      --open_count_;
    }
    returned_.notify_one();
  }

  // Returns a checked-out connection. One that is not `reusable` frees its slot and closes
  // after the lock is released.
  void put(std::unique_ptr<Connection> connection, bool reusable) {
    {
      const std::lock_guard lock(mutex_);
      if (reusable) {
        idle_.push_back(std::move(connection));
      } else {
        --open_count_;
      }
    }
    connection.reset();
    returned_.notify_one();
  }

 private:
  const std::size_t max_connections_;
  std::mutex mutex_;
  std::condition_variable returned_;
  // Guarded by mutex_.
  std::vector<std::unique_ptr<Connection>> idle_;
  // Guarded by mutex_: connections open or being opened, idle or checked out.
  std::size_t open_count_ = 0;
};

}  // namespace devauth

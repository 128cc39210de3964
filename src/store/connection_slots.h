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
  // The result of take(). When `granted` is false, the wait timed out. Otherwise `idle` is an
  // idle connection, or null when a slot is reserved for a connection that the caller opens.
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

  // Puts back a checked-out connection. A connection that is not `reusable` is closed after the
  // lock is released, and its slot is freed.
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
  // Guarded by mutex_: the idle connections, the most recently returned last.
  std::vector<std::unique_ptr<Connection>> idle_;
  // Guarded by mutex_: connections open or being opened, idle or checked out.
  std::size_t open_count_ = 0;
};

}  // namespace devauth

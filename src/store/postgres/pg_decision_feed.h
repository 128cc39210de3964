#pragma once

// Decisions for held polls on PostgreSQL (store/decision_feed.h). approve() and deny() send
// NOTIFY on kDecisionChannel with the authorization id as payload, in the same statement as the
// update, so the notice leaves with the commit. The feed LISTENs on a connection of its own and
// reconnects after a failure; because notices sent while it was disconnected are lost, every
// reconnection is delivered as a change with an empty id.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/decision_feed.h"

namespace devauth::postgres {

inline constexpr char kDecisionChannel[] = "devauth_decisions";

class PostgresDecisionFeed final : public DecisionFeed {
 public:
  // `keywords` and `values` as for ConnectionPool. Starts the feed's thread, which connects.
  PostgresDecisionFeed(std::vector<std::string> keywords, std::vector<std::string> values,
                       LocalDecisions& local, DecisionCallback callback);
  ~PostgresDecisionFeed() override;
  PostgresDecisionFeed(const PostgresDecisionFeed&) = delete;
  PostgresDecisionFeed& operator=(const PostgresDecisionFeed&) = delete;

 private:
  void run();
  // Listens on one connection until it fails or the feed stops.
  void listenOnce(bool reconnected);
  bool stopping();
  // Sleeps up to `delay`; returns early when the feed stops.
  void pause(std::chrono::milliseconds delay);

  const std::vector<std::string> keywords_;
  const std::vector<std::string> values_;
  LocalDecisions& local_;
  std::uint64_t subscription_;
  DecisionCallback callback_;

  std::mutex mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace devauth::postgres

#pragma once

// The threads that run request handlers off the I/O threads.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/blocking.h"

namespace devauth::http {

// A fixed set of threads that run jobs in the order they were posted. At most `active` of them
// run jobs at once, except while some wait inside a BlockingRegion (on a lock, a commit or a
// database server): each waiting thread lets one more run. A pool of as many threads as cores
// then runs without threads preempting each other, and threads that wait still do not hold up
// the queue.
class HandlerPool final : private BlockingObserver {
 public:
  // `threads` and `active` are at least 1; `active` is capped at `threads`.
  HandlerPool(unsigned threads, unsigned active);
  ~HandlerPool() override;

  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Queues `job`. Safe to call from any thread, also from a job. A job that throws is logged, and
  // its thread goes on with the next one.
  void post(std::function<void()> job);

  // Runs every job queued before the call and every job that these jobs post, then ends the
  // threads. A job that another thread posts during the call runs only if a pool thread has not
  // yet ended, and jobs posted after it returns never run. Safe to call more than once.
  void join();

  // A snapshot of the counters below and of the queue length.
  struct Counters {
    unsigned running = 0;
    unsigned sleeping = 0;
    unsigned wakes = 0;
    std::size_t queued = 0;
  };
  // Returns the counters at one moment. Once every job has run and every thread sleeps, `running`
  // and `wakes` are 0, which the tests check after many kinds of jobs.
  Counters counters() const;

 private:
  void run();
  // Wakes a sleeping thread when jobs wait and fewer than `active_` threads run.
  void wakeIfNeeded(std::unique_lock<std::mutex>& lock);
  void blockingStarted() override;
  void blockingEnded() override;

  const unsigned active_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  // The following are guarded by mutex_.
  std::deque<std::function<void()>> jobs_;
  // Threads that are awake and not inside a BlockingRegion, including those woken that have not
  // yet taken a job.
  unsigned running_ = 0;
  // Threads waiting on wake_, and the wake-ups sent to them that no thread has taken yet.
  unsigned sleeping_ = 0;
  unsigned wakes_ = 0;
  bool stopping_ = false;

  std::vector<std::thread> threads_;
  std::mutex join_mutex_;
};

}  // namespace devauth::http

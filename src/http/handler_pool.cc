#include "http/handler_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <utility>

namespace devauth::http {

HandlerPool::HandlerPool(unsigned threads, unsigned active)
    : active_(std::clamp(active, 1U, std::max(threads, 1U))) {
  const unsigned count = std::max(threads, 1U);
  threads_.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

HandlerPool::~HandlerPool() { join(); }

void HandlerPool::post(std::function<void()> job) {
  std::unique_lock lock(mutex_);
  jobs_.push_back(std::move(job));
  wakeIfNeeded(lock);
}

void HandlerPool::join() {
  const std::lock_guard joining(join_mutex_);
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
}

HandlerPool::Counters HandlerPool::counters() const {
  const std::lock_guard lock(mutex_);
  return Counters{running_, sleeping_, wakes_, jobs_.size()};
}

void HandlerPool::wakeIfNeeded(std::unique_lock<std::mutex>& /*lock*/) {
  if (!jobs_.empty() && running_ < active_ && sleeping_ > wakes_) {
    ++wakes_;
    ++running_;
    wake_.notify_one();
  }
}

void HandlerPool::run() {
  BlockingRegion::observeThisThread(this);
  std::unique_lock lock(mutex_);
  ++running_;
  while (true) {
    if (!jobs_.empty() && running_ <= active_) {
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      try {
        job();
      } catch (const std::exception& error) {
        spdlog::error("event=handler_job_failed error=\"{}\"", error.what());
      } catch (...) {
        spdlog::error("event=handler_job_failed error=\"unknown exception\"");
      }
      job = nullptr;
      lock.lock();
      continue;
    }
    if (jobs_.empty() && stopping_) {
      --running_;
      // The threads that sleep end as well.
      wake_.notify_all();
      return;
    }
    // Nothing to do, or more threads run than `active_` after waits ended: this one sleeps.
    --running_;
    ++sleeping_;
    wake_.wait(lock, [this] { return wakes_ > 0 || (stopping_ && jobs_.empty()); });
    --sleeping_;
    if (wakes_ > 0) {
      // The waker counted this thread as running already.
      --wakes_;
    } else {
      ++running_;
    }
  }
}

void HandlerPool::blockingStarted() {
  std::unique_lock lock(mutex_);
  --running_;
  wakeIfNeeded(lock);
}

void HandlerPool::blockingEnded() {
  const std::lock_guard lock(mutex_);
  ++running_;
}

}  // namespace devauth::http

#pragma once

// Marks the long stretches of a job: waiting for another thread, the disk or a database server,
// or a deliberately slow computation such as password hashing. A thread pool that runs only a
// few of its threads at once runs another one meanwhile, so short jobs do not queue behind them.

namespace devauth {

// Told by the threads of a pool when a long stretch starts and ends.
class BlockingObserver {
 public:
  virtual ~BlockingObserver() = default;
  virtual void blockingStarted() = 0;
  virtual void blockingEnded() = 0;
};

// Tells the calling thread's observer, if it has one, that a long stretch runs from construction
// to destruction. Nested regions count as one.
class BlockingRegion {
 public:
  BlockingRegion() : BlockingRegion(true) {}

  // Marks the stretch only when `long_stretch` is true, for code that waits only in some cases.
  explicit BlockingRegion(bool long_stretch) : observer_(long_stretch ? current() : nullptr) {
    if (observer_ != nullptr && depth()++ == 0) {
      observer_->blockingStarted();
    }
  }

  ~BlockingRegion() {
    if (observer_ != nullptr && --depth() == 0) {
      observer_->blockingEnded();
    }
  }

  BlockingRegion(const BlockingRegion&) = delete;
  BlockingRegion& operator=(const BlockingRegion&) = delete;

  // Sets the observer of the calling thread; null removes it. A pool calls this on each of its
  // threads before the thread runs a job.
  static void observeThisThread(BlockingObserver* observer) { current() = observer; }

 private:
  // The calling thread's observer.
  static BlockingObserver*& current() {
    thread_local BlockingObserver* observer = nullptr;
    return observer;
  }

  // How many regions the calling thread is inside.
  static int& depth() {
    thread_local int nesting = 0;
    return nesting;
  }

  // The observer when the region began, so that the end goes to the same one.
  BlockingObserver* const observer_;
};

}  // namespace devauth

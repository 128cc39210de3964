#pragma once

// Device codes at the largest polling interval, and the time before which each one's polls
// are slow_down (RFC 8628 §3.5). With it, the I/O thread that read such a poll responds to it
// without a handler thread and without a store read.
//
// A pending code whose interval reached poll.max_interval gets slow_down for every poll before
// last_poll_at + interval - tolerance, and that answer changes nothing in the store. The token
// endpoint remembers that time after each poll it records for such a code. A client that waits
// its interval between polls never gets an answer from here: only polls that come too early do.
//
// The remembered time stays a lower bound whatever other processes and instances do: a poll
// recorded elsewhere only moves last_poll_at forward, and the interval never falls. Decisions
// do change the answer, so forget() drops the entry of a code that was approved, denied or
// cancelled: at once for decisions made through this process's store, and through the
// decision feed for those of other PostgreSQL instances.
//
// A poll that reaches the store and finds the code no longer pending for its client drops the
// entry too, for decisions and deletions that no feed reported.
//
// NOTE: On SQLite, the feed reads other processes' decisions only while held polls wait. A code
// that another process (the `devauth authorization` command) approves or denies can then still
// get slow_down until one of its polls reaches the store, at the latest at the remembered time,
// which is when a client that polls at its interval would read the decision anyway.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/authorization.h"
#include "core/clock.h"
#include "core/secret.h"

namespace devauth::oauth {

class SlowDownCache {
 public:
  // Enough for the codes of a large fleet polling too early at once, at about 200 bytes each.
  static constexpr std::size_t kDefaultCapacity = 16384;

  // The cache starts off: remember() keeps nothing until enable().
  explicit SlowDownCache(std::size_t capacity = kDefaultCapacity);

  // Starts remembering. Call it once decisions reach forget(): an entry remembered before that
  // could outlive the decision of its code.
  void enable();

  // A number that changes whenever an entry is forgotten. Take it before the store records a
  // poll and pass it to remember(), so that a decision racing with the poll is not missed.
  std::uint64_t generation();

  // Remembers that polls of the code with `device_code_hash` by `client_id` before `until` are
  // slow_down, unless a forget or reset ran since `generation` was taken, or `until` was
  // computed under another polling policy than the one passed to reset(). When the cache is
  // full, entries whose time has passed are dropped, at most once a second. If it is still
  // full, nothing is remembered.
  void remember(const SecretHash& device_code_hash, const std::string& authorization_id,
                const std::string& client_id, TimePoint until, const PollPolicy* policy,
                std::uint64_t generation, TimePoint now);

  // Whether a poll of the code by `client_id` at `now` is slow_down by the remembered time. An
  // entry whose time has passed is dropped.
  bool isTooEarly(const SecretHash& device_code_hash, std::string_view client_id, TimePoint now);

  // Drops the entry of the authorization `authorization_id`, or every entry when it is empty
  // (a decision feed that cannot tell which authorization changed).
  void forget(const std::string& authorization_id);

  // Drops the entry of the code with `device_code_hash`, which the store no longer has pending
  // for the polling client.
  void forgetCode(const SecretHash& device_code_hash);

  // Drops every entry, and from then on keeps only entries computed under `policy`, the
  // polling policy in force. A request that still runs with an older policy after a reload
  // then cannot bring an entry of that policy back.
  void reset(const PollPolicy* policy);

  std::size_t size();

 private:
  struct HashOfHash {
    // The key is already a uniform hash of a secret, so its first bytes serve as the bucket hash.
    std::size_t operator()(const SecretHash& hash) const noexcept {
      std::size_t value = 0;
      std::memcpy(&value, hash.data(), sizeof(value));
      return value;
    }
  };
  struct Entry {
    std::string authorization_id;
    std::string client_id;
    TimePoint until;
  };
  using Entries = std::unordered_map<SecretHash, Entry, HashOfHash>;

  void clearLocked();
  void eraseLocked(Entries::iterator entry);
  void dropPassedLocked(TimePoint now);

  const std::size_t capacity_;
  // isTooEarly, on both I/O threads for every early poll, shares the lock. With an exclusive
  // lock, a thread preempted while holding it stalled the other thread's connections for a
  // scheduler time slice.
  std::shared_mutex mutex_;
  // The following are guarded by mutex_.
  Entries entries_;
  std::unordered_map<std::string, SecretHash> by_authorization_;
  std::uint64_t generation_ = 0;
  bool enabled_ = false;
  const PollPolicy* policy_ = nullptr;
  TimePoint last_sweep_{};
};

}  // namespace devauth::oauth

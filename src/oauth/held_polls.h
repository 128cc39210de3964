#pragma once

// Device token polls held with Prefer: wait (RFC 7240 §4.3), by authorization id. A held poll
// ends when its authorization is decided or expires (wake() or wakeAll() re-reads it), when its
// wait ends, or when the server stops.
//
// Thread safety: every method may be called from any thread.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "http/deferred.h"

namespace devauth::oauth {

struct HeldPollLimits {
  // Held polls of one client, and of the whole process. Beyond them a poll is answered at once.
  std::size_t per_client = 0;
  std::size_t total = 0;
};

class HeldPolls {
 public:
  // Re-reads the authorization of a held poll and returns the response that ends the hold, or
  // nullopt while it is still pending and unexpired. Runs on the handler pool. With `final`
  // set (the wait ended), it always returns a response.
  using Check = std::function<std::optional<http::Response>(bool final)>;
  // The response sent at once when the server stops: authorization_pending.
  using StopAnswer = std::function<http::Response()>;

  HeldPolls() = default;
  ~HeldPolls();
  HeldPolls(const HeldPolls&) = delete;
  HeldPolls& operator=(const HeldPolls&) = delete;

  // Holds `request` for `wait` unless the limits are reached. Returns false, changing nothing,
  // when they are or when the request cannot be held (no server behind it).
  bool hold(const http::Request& request, const std::string& authorization_id,
            const std::string& client_id, std::chrono::steady_clock::duration wait,
            const HeldPollLimits& limits, Check check, StopAnswer stop_answer);

  // Re-reads the held polls of `authorization_id`, after it was approved or denied.
  void wake(const std::string& authorization_id);

  // Re-reads every held poll, after a change that names no authorization.
  void wakeAll();

  // The number of held polls.
  std::size_t size() const;

 private:
  struct Entry;

  void schedule(const std::shared_ptr<Entry>& entry);
  void runCheck(const std::shared_ptr<Entry>& entry);
  void onEnd(const std::shared_ptr<Entry>& entry, http::HoldEnd reason);
  void remove(const std::shared_ptr<Entry>& entry);

  mutable std::mutex mutex_;
  // guarded by mutex_
  std::multimap<std::string, std::shared_ptr<Entry>> by_authorization_;
  std::map<std::string, std::size_t> per_client_;  // guarded by mutex_
};

}  // namespace devauth::oauth

#include "oauth/held_polls.h"

#include <vector>

#include "metrics/metrics.h"

namespace devauth::oauth {

struct HeldPolls::Entry {
  std::string authorization_id;
  std::string client_id;
  std::shared_ptr<http::HeldResponse> response;
  Check check;
  StopAnswer stop_answer;

  std::mutex mutex;
  // A check runs or is queued on the handler pool.
  bool checking = false;  // guarded by mutex
  // A wake came while a check was running, so it checks once more.
  bool woken_again = false;  // guarded by mutex
  // The wait ended or the server stops: the running check ends the hold.
  bool final = false;  // guarded by mutex
  // The response was handed over, or the client left.
  bool ended = false;  // guarded by mutex
};

HeldPolls::~HeldPolls() {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < by_authorization_.size(); ++i) {
    metrics::recordHeldPollEnded();
  }
}

bool HeldPolls::hold(const http::Request& request, const std::string& authorization_id,
                     const std::string& client_id, std::chrono::steady_clock::duration wait,
                     const HeldPollLimits& limits, Check check, StopAnswer stop_answer) {
  if (!request.deferral) {
    return false;
  }
  auto entry = std::make_shared<Entry>();
  entry->authorization_id = authorization_id;
  entry->client_id = client_id;
  entry->check = std::move(check);
  entry->stop_answer = std::move(stop_answer);
  // The callbacks keep only a weak pointer to the entry, because the entry owns the response,
  // which owns the callbacks.
  std::weak_ptr<Entry> weak = entry;
  http::HoldCallbacks callbacks;
  callbacks.on_end = [this, weak](http::HoldEnd reason) {
    if (auto held = weak.lock()) {
      onEnd(held, reason);
    }
  };
  callbacks.on_abandoned = [this, weak] {
    auto held = weak.lock();
    if (!held) {
      return;
    }
    {
      std::lock_guard lock(held->mutex);
      held->ended = true;
    }
    remove(held);
  };

  {
    // The entry is locked until its response is set, so a wake that finds it in the map waits.
    std::lock_guard entry_lock(entry->mutex);
    {
      std::lock_guard lock(mutex_);
      std::size_t& of_client = per_client_[client_id];
      if (by_authorization_.size() >= limits.total || of_client >= limits.per_client) {
        if (of_client == 0) {
          per_client_.erase(client_id);
        }
        metrics::recordHeldPollRefused();
        return false;
      }
      ++of_client;
      by_authorization_.emplace(authorization_id, entry);
    }
    metrics::recordHeldPollStarted();
    entry->response = request.deferral->hold(wait, std::move(callbacks));
  }

  // A decision made after the poll read the authorization and before the entry was in the map
  // woke nothing, so the entry is checked once now.
  schedule(entry);
  return true;
}

void HeldPolls::wake(const std::string& authorization_id) {
  std::vector<std::shared_ptr<Entry>> woken;
  {
    std::lock_guard lock(mutex_);
    const auto [first, last] = by_authorization_.equal_range(authorization_id);
    for (auto it = first; it != last; ++it) {
      woken.push_back(it->second);
    }
  }
  for (const auto& entry : woken) {
    schedule(entry);
  }
}

void HeldPolls::wakeAll() {
  std::vector<std::shared_ptr<Entry>> woken;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : by_authorization_) {
      woken.push_back(entry);
    }
  }
  for (const auto& entry : woken) {
    schedule(entry);
  }
}

std::size_t HeldPolls::size() const {
  std::lock_guard lock(mutex_);
  return by_authorization_.size();
}

void HeldPolls::schedule(const std::shared_ptr<Entry>& entry) {
  std::shared_ptr<http::HeldResponse> response;
  {
    std::lock_guard lock(entry->mutex);
    if (entry->ended || !entry->response) {
      return;
    }
    if (entry->checking) {
      entry->woken_again = true;
      return;
    }
    entry->checking = true;
    response = entry->response;
  }
  response->post([this, entry] { runCheck(entry); });
}

// Runs the check until it ends the hold or finds the authorization still pending with no
// newer wake. Only one check of an entry runs at a time.
void HeldPolls::runCheck(const std::shared_ptr<Entry>& entry) {
  while (true) {
    bool final = false;
    {
      std::lock_guard lock(entry->mutex);
      final = entry->final;
      entry->woken_again = false;
    }
    std::optional<http::Response> answer = entry->check(final);
    std::shared_ptr<http::HeldResponse> response;
    {
      std::lock_guard lock(entry->mutex);
      if (!answer && !final && (entry->final || entry->woken_again)) {
        // The wait ended, or another wake came, while this check ran: check once more.
        continue;
      }
      if (!answer) {
        entry->checking = false;
        return;
      }
      entry->checking = false;
      if (entry->ended) {
        return;
      }
      entry->ended = true;
      response = entry->response;
    }
    remove(entry);
    response->complete(std::move(*answer));
    return;
  }
}

// Runs on the connection's I/O thread. At the deadline a final check re-reads the authorization on
// the handler pool; when the server stops, the poll is answered at once without the store.
void HeldPolls::onEnd(const std::shared_ptr<Entry>& entry, http::HoldEnd reason) {
  std::shared_ptr<http::HeldResponse> response;
  {
    std::lock_guard lock(entry->mutex);
    if (entry->ended) {
      return;
    }
    entry->final = true;
    if (entry->checking) {
      // The running check sees `final` and ends the hold.
      return;
    }
    response = entry->response;
    if (reason == http::HoldEnd::Deadline) {
      entry->checking = true;
    } else {
      entry->ended = true;
    }
  }
  if (reason == http::HoldEnd::Deadline) {
    response->post([this, entry] { runCheck(entry); });
    return;
  }
  remove(entry);
  response->complete(entry->stop_answer());
}

void HeldPolls::remove(const std::shared_ptr<Entry>& entry) {
  std::lock_guard lock(mutex_);
  const auto [first, last] = by_authorization_.equal_range(entry->authorization_id);
  for (auto it = first; it != last; ++it) {
    if (it->second == entry) {
      by_authorization_.erase(it);
      auto count = per_client_.find(entry->client_id);
      if (count != per_client_.end() && --count->second == 0) {
        per_client_.erase(count);
      }
      metrics::recordHeldPollEnded();
      return;
    }
  }
}

}  // namespace devauth::oauth

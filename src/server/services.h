#pragma once

// The dependencies that endpoints and pages share. Built once by the server wiring and passed
// by reference; tests build it with a manual clock and a fixed random source.

#include <atomic>

#include "core/clock.h"
#include "core/random.h"
#include "keys/signing_keys.h"
#include "server/config.h"
#include "store/store.h"

namespace devauth {

namespace oauth {
class HeldPolls;
class SlowDownCache;
}  // namespace oauth

struct Services {
  const Config& config;
  Store& store;
  const Clock& clock;
  RandomSource& random;
  // Signs JWT access tokens and ID tokens; nullptr where nothing may be signed.
  SigningKeys* signing_keys = nullptr;
  // Device token polls held with Prefer: wait; nullptr where no poll is held.
  oauth::HeldPolls* held_polls = nullptr;
  // Device codes whose too-early polls the I/O threads respond to with slow_down, or nullptr
  // where every poll goes to the store.
  oauth::SlowDownCache* slow_downs = nullptr;
};

// The Services of the configuration in force. A SIGHUP reload publishes new Services with a new
// Config; the App keeps every published one alive until it stops, so a request that loaded one
// may use it to the end. Loading costs one atomic read on each request.
using CurrentServices = std::atomic<Services*>;

}  // namespace devauth

#pragma once

// Held requests. A handler that cannot answer yet (a device token poll with Prefer: wait, for
// example) calls Deferral::hold() and returns. The server then keeps the connection open without
// occupying a thread until the owner of the HeldResponse completes it.

#include <chrono>
#include <functional>
#include <memory>

#include "http/message.h"

namespace devauth::http {

enum class HoldEnd {
  // The hold's maximum wait passed.
  Deadline,
  // The server stops. The owner completes at once, so the response leaves within shutdown_grace.
  ServerStopping,
};

struct HoldCallbacks {
  // Runs once on the connection's I/O thread when the hold ends without a response. The server
  // sends nothing by itself: the owner must call complete(), from inside the callback or later.
  std::function<void(HoldEnd)> on_end;
  // Runs once on the connection's I/O thread when the client closes the connection during the
  // hold. Later calls to complete() are ignored.
  std::function<void()> on_abandoned;
};

class HeldResponse {
 public:
  virtual ~HeldResponse() = default;

  // Sends `response` as the answer to the held request. Only the first call counts, and none
  // after the client left. Safe to call from any thread, also before the handler returned.
  virtual void complete(Response response) = 0;

  // Runs `job` where the server runs handlers: on the handler pool when the server has one,
  // else on the connection's I/O thread. Jobs posted after the server stopped never run.
  virtual void post(std::function<void()> job) = 0;
};

// The server's part of one request. Request::deferral points to it while the server runs the
// handler; it is null when a handler is called without a server.
class Deferral {
 public:
  virtual ~Deferral() = default;

  // Takes over the answer to the request: the Response the handler returns is discarded, and
  // the server sends what the returned HeldResponse completes with. `on_end` runs after
  // `max_wait`. Call at most once, from inside the handler.
  virtual std::shared_ptr<HeldResponse> hold(std::chrono::steady_clock::duration max_wait,
                                             HoldCallbacks callbacks) = 0;

  // Whether hold() was called.
  virtual bool held() const = 0;

  // Sets a function that the server calls with a held request's response just before it is
  // written, for metrics. Not called for responses that were not held.
  virtual void onHeldResponseSent(std::function<void(const Response&)> observer) = 0;
};

}  // namespace devauth::http

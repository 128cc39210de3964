// POST /oauth/device/begin: the device authorization request (RFC 8628 §3.1-3.2).

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <span>

#include "core/device_code.h"
#include "core/scope.h"
#include "core/secret.h"
#include "core/user_code.h"
#include "core/user_code_profile.h"
#include "http/deferred.h"
#include "http/request_origin.h"
#include "http/response.h"
#include "limits/abuse_limits.h"
#include "metrics/metrics.h"
#include "oauth/assisted_approval.h"
#include "oauth/client_auth.h"
#include "oauth/decision_audit.h"
#include "oauth/endpoints.h"
#include "oauth/request_checks.h"

namespace devauth::oauth {
namespace {

// A user code collision is a 2^-34 event per live code for the default profile, and other
// profiles pass the guessing-odds check, so five draws that all collide mean the store is
// reporting conflicts for another reason.
constexpr int kMaxInsertAttempts = 5;
// Retry-After sent when a client has too many live authorizations; some of them expire or
// are decided within a minute on a busy client.
constexpr seconds kLiveCapRetryAfter{60};
// How long a begin waits for the store to insert its row in the background before it gets
// temporarily_unavailable. A commit waits at most the store's busy timeout (5 s by default)
// for a lock, so only a store that stopped responding reaches this.
constexpr std::chrono::seconds kBackgroundInsertMaxWait{30};

struct DeviceRequest {
  Client client;
  std::string scope;
  // The login_hint of a trusted backend: the only subject that may approve or deny.
  std::optional<std::string> bound_subject;
};

// The codes handed to the device; only their hashes are stored.
struct IssuedCodes {
  Authorization authorization;
  std::string device_code;
  std::string user_code;
  // The user code with the dashes of the client's profile.
  std::string displayed_user_code;
};

// RFC 8628 §3.2 expires_in and interval: the client's own values, else the server's.
seconds codeLifetime(const Services& services, const Client& client) {
  return client.code_settings.device_code_ttl.value_or(services.config.device_code_ttl);
}

seconds pollInterval(const Services& services, const Client& client) {
  return client.code_settings.poll_interval.value_or(services.config.poll_interval);
}

// RFC 8628 §3.1 and RFC 6749 §3.3: a request without scope gets the client's default scopes.
// A scope that is malformed or not allowed for the client is invalid_scope.
EndpointResult<std::string> resolveScope(const Client& client,
                                         const std::optional<std::string>& requested) {
  if (!requested) {
    return joinScope(client.default_scopes);
  }
  const auto scopes = parseScope(*requested);
  if (!scopes) {
    return fail(OAuthErrorCode::InvalidScope, "The scope parameter is malformed.");
  }
  if (!scopesNotAllowed(*scopes, client.allowed_scopes).empty()) {
    return fail(OAuthErrorCode::InvalidScope);
  }
  return joinScope(*scopes);
}

EndpointResult<DeviceRequest> validateDeviceRequest(Services& services,
                                                    const http::Request& request) {
  auto form = checkOAuthRequest(request);
  if (!form) {
    return unexpected(EndpointError{form.error()});
  }
  auto authenticated = authenticateClient(services, request, *form);
  if (!authenticated) {
    return unexpected(authenticated.error());
  }
  Client& client = authenticated->client;
  if (!client.device_grant) {
    return fail(OAuthErrorCode::UnauthorizedClient,
                "The client is not allowed to use the device authorization grant.");
  }

  auto scope = resolveScope(client, form->get("scope"));
  if (!scope) {
    return unexpected(scope.error());
  }
  auto bound_subject = readLoginHint(client, *form);
  if (!bound_subject) {
    return unexpected(bound_subject.error());
  }
  return DeviceRequest{std::move(client), std::move(*scope), std::move(*bound_subject)};
}

// Logs a request that went over a device request limit, records the block in the metrics and
// returns its 429 error.
EndpointError deviceRequestsThrottled(const http::Request& request, const Client& client,
                                      seconds wait) {
  spdlog::warn("event=device_requests_throttled client_id={} request_id={}", client.id,
               request.request_id);
  metrics::recordBlock(metrics::Limit::DeviceRequest);
  return rateLimited(wait).error;
}

// Builds the counters of device requests by `client` and by the request's source address.
std::vector<limits::Counter> deviceRequestCounters(const Services& services,
                                                   const http::Request& request,
                                                   const Client& client) {
  return limits::deviceRequestCounters(
      services.config.limits, client.id,
      limits::sourceAddress(request, services.config.trust_forwarded_for));
}

// Checks the cap on a client's pending, unexpired authorizations.
EndpointResult<void> checkLiveCap(Services& services, const http::Request& request,
                                  const Client& client, TimePoint now) {
  const AbuseLimits& limits = services.config.limits;
  if (limits.max_live_authorizations_per_client <= 0) {
    return {};
  }
  auto live = services.store.countLiveAuthorizations(client.id, now);
  if (!live) {
    return unexpected(storeFailure(request, "count_live_authorizations", live.error()));
  }
  if (static_cast<std::int64_t>(*live) >= limits.max_live_authorizations_per_client) {
    spdlog::warn("event=live_authorizations_capped client_id={} request_id={}", client.id,
                 request.request_id);
    metrics::recordBlock(metrics::Limit::LiveAuthorizations);
    return rateLimited(kLiveCapRetryAfter);
  }
  return {};
}

// Returns the 429 error when a device request limit is already reached in this window. It only
// reads the counters, so a flood over the limits costs neither a write nor a count of live
// authorizations. Such a request is not counted, because the window refuses it anyway.
EndpointResult<void> checkReachedLimits(Services& services, const http::Request& request,
                                        const Client& client,
                                        const std::vector<limits::Counter>& counters,
                                        TimePoint now) {
  auto wait = limits::exceededWait(services.store, counters, now);
  if (!wait) {
    return unexpected(storeFailure(request, "read_counter", wait.error()));
  }
  if (*wait) {
    return unexpected(deviceRequestsThrottled(request, client, **wait));
  }
  return {};
}

// Checks the flooding limits (RFC 6819 §4.4.1.11) that both begin paths check before they count
// a request. The first is a request limit already reached (checkReachedLimits). The second is
// the cap on a client's live authorizations, which also bounds the live user codes that
// guessing could hit (RFC 8628 §5.1).
EndpointResult<void> checkBeforeCounting(Services& services, const http::Request& request,
                                         const Client& client,
                                         const std::vector<limits::Counter>& counters,
                                         TimePoint now) {
  auto reached = checkReachedLimits(services, request, client, counters, now);
  if (!reached) {
    return reached;
  }
  return checkLiveCap(services, request, client, now);
}

// Checks the flooding limits and counts the request per client and per source address. The
// background path (beginInBackground) leaves the count to the store's transaction instead.
EndpointResult<void> checkFloodLimits(Services& services, const http::Request& request,
                                      const Client& client) {
  const TimePoint now = services.clock.now();
  const std::vector<limits::Counter> counters = deviceRequestCounters(services, request, client);
  auto allowed = checkBeforeCounting(services, request, client, counters, now);
  if (!allowed) {
    return allowed;
  }
  auto wait = limits::countRequest(services.store, counters, now);
  if (!wait) {
    return unexpected(storeFailure(request, "count_request", wait.error()));
  }
  if (*wait) {
    return unexpected(deviceRequestsThrottled(request, client, **wait));
  }
  return {};
}

// Serves the random draws of one device authorization request from one call of `source`,
// because each call of the CSPRNG is a getrandom system call. Every byte is CSPRNG output
// that is handed out once and then zeroed, and a draw beyond the buffer goes to `source`.
class RequestRandom final : public RandomSource {
 public:
  explicit RequestRandom(RandomSource& source) : source_(source) { source_.fill(buffer_); }
  ~RequestRandom() override { sodium_memzero(buffer_.data(), buffer_.size()); }
  RequestRandom(const RequestRandom&) = delete;
  RequestRandom& operator=(const RequestRandom&) = delete;

  void fill(std::span<std::uint8_t> out) override {
    const std::size_t served = std::min(out.size(), buffer_.size() - used_);
    std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(used_), served, out.begin());
    sodium_memzero(buffer_.data() + used_, served);
    used_ += served;
    if (served < out.size()) {
      source_.fill(out.subspan(served));
    }
  }

 private:
  RandomSource& source_;
  // The device code, one pool of 16 bytes for the user code (generateUserCode draws another
  // only when rejection sampling used up the first), and the random part of the authorization
  // id.
  std::array<std::uint8_t, kDeviceCodeRandomBytes + 16 + kAuthorizationIdRandomBytes> buffer_{};
  std::size_t used_ = 0;
};

IssuedCodes drawCodes(Services& services, const DeviceRequest& device_request) {
  RequestRandom random(services.random);
  IssuedCodes codes;
  const TimePoint now = services.clock.now();
  codes.device_code = generateDeviceCode(random, now);
  const UserCodeProfile& profile = device_request.client.code_settings.user_code_profile;
  codes.user_code = generateUserCode(random, profile);
  codes.displayed_user_code = formatUserCode(codes.user_code, profile);

  Authorization& authorization = codes.authorization;
  authorization.id = newAuthorizationId(random, now);
  authorization.device_code_hash = deviceCodeKey(codes.device_code);
  authorization.user_code_hash = hashSecret(codes.user_code);
  authorization.client_id = device_request.client.id;
  authorization.scope = device_request.scope;
  authorization.state = AuthorizationState::Pending;
  authorization.created_at = now;
  authorization.expires_at = now + codeLifetime(services, device_request.client);
  authorization.interval = pollInterval(services, device_request.client);
  // The X25519 derivation is most of the CPU cost of this request, so only a client that may
  // receive relayed tokens pays for it.
  if (device_request.client.accepts_relayed_tokens) {
    authorization.relay_public_key = relayPublicKeyFor(codes.device_code);
  }
  authorization.bound_subject = device_request.bound_subject;
  return codes;
}

// Records where the request came from, for the consent page (RFC 8628 §5.4). The address is
// the one the rate limits count, so behind a trusted proxy it is the client's address.
void recordRequestOrigin(const Services& services, const http::Request& request,
                         Authorization& authorization) {
  authorization.request_address =
      http::canonicalAddress(limits::sourceAddress(request, services.config.trust_forwarded_for));
  authorization.request_user_agent =
      http::shortenUserAgent(request.message[http::beast_http::field::user_agent]);
}

// Returns whether an insert that failed with `error` on attempt `attempt` is tried again with
// fresh codes: only a code collision is, up to kMaxInsertAttempts. Logs the collision.
bool redrawAfter(const StoreError& error, int attempt, const http::Request& request,
                 const DeviceRequest& device_request) {
  if (error.kind != StoreError::Kind::Conflict || attempt == kMaxInsertAttempts) {
    return false;
  }
  spdlog::warn("event=code_collision client_id={} request_id={}", device_request.client.id,
               request.request_id);
  return true;
}

// Stores a new authorization, drawing fresh codes when a code hash collides with a stored one.
EndpointResult<IssuedCodes> createAuthorization(Services& services, const http::Request& request,
                                                const DeviceRequest& device_request) {
  for (int attempt = 1; attempt <= kMaxInsertAttempts; ++attempt) {
    IssuedCodes codes = drawCodes(services, device_request);
    recordRequestOrigin(services, request, codes.authorization);
    auto inserted = services.store.insertAuthorization(codes.authorization);
    if (inserted) {
      return codes;
    }
    if (!redrawAfter(inserted.error(), attempt, request, device_request)) {
      return unexpected(storeFailure(request, "insert_authorization", inserted.error()));
    }
  }
  return fail(OAuthErrorCode::ServerError);
}

DeviceAuthorizationResponse describeCodes(const Services& services, const Client& client,
                                          const IssuedCodes& codes) {
  DeviceAuthorizationResponse response;
  response.device_code = codes.device_code;
  response.user_code = codes.displayed_user_code;
  response.verification_uri = services.config.issuer + "/device";
  response.verification_uri_complete =
      response.verification_uri + "?user_code=" + response.user_code;
  response.expires_in = codeLifetime(services, client);
  response.interval = pollInterval(services, client);
  return response;
}

http::Response respondDeviceAuthorization(const http::Request& request,
                                          const DeviceAuthorizationResponse& response) {
  boost::json::object body;
  body.reserve(8);
  body["device_code"] = response.device_code;
  body["user_code"] = response.user_code;
  body["verification_uri"] = response.verification_uri;
  body["verification_uri_complete"] = response.verification_uri_complete;
  body["expires_in"] = response.expires_in.count();
  body["interval"] = response.interval.count();
  // Extension members (RFC 8628 §3.2 allows more): the code for voice agents to read aloud.
  body["devauth_user_code_spoken"] = spokenUserCode(response.user_code);
  body["devauth_user_code_ssml"] = ssmlUserCode(response.user_code);
  // Moved into the boost::json::value that jsonResponse takes, so the members are not copied.
  return http::jsonResponse(request, 200, boost::json::value(std::move(body)));
}

// Counts, logs and audits a device authorization that is now stored.
void recordStart(const http::Request& request, const DeviceRequest& device_request,
                 const IssuedCodes& codes) {
  metrics::recordStage(metrics::Stage::Begun);
  spdlog::info("event=authorization_started authorization_id={} client_id={} request_id={}",
               codes.authorization.id, device_request.client.id, request.request_id);
  if (device_request.bound_subject) {
    writeDecisionAudit(DecisionAudit{DecisionAction::Bind, DecisionOutcome::Done,
                                     codes.authorization.id, device_request.client.id,
                                     *device_request.bound_subject,
                                     "client:" + device_request.client.id, request.request_id});
  }
}

// Checks, limits and stores a device authorization for `device_request`.
EndpointResult<DeviceAuthorizationResponse> startAuthorization(
    Services& services, const http::Request& request, const DeviceRequest& device_request) {
  auto allowed = checkFloodLimits(services, request, device_request.client);
  if (!allowed) {
    return unexpected(allowed.error());
  }

  auto codes = createAuthorization(services, request, device_request);
  if (!codes) {
    return unexpected(codes.error());
  }
  recordStart(request, device_request, *codes);
  return describeCodes(services, device_request.client, *codes);
}

// A device authorization request whose row the store inserts in the background
// (Store::insertsInBackground). The request's handler has returned, so this keeps what the
// response and the logs need.
struct BackgroundBegin {
  Services& services;
  http::Request request;
  DeviceRequest device_request;
  std::shared_ptr<http::HeldResponse> response;
  // The device request limits, which the store counts with the first attempt's row.
  std::vector<limits::Counter> counters;
  TimePoint now{};
  int attempt = 1;
};

// The parts of `request` that responses and logs read: the version, keep-alive, the target
// and the request id.
http::Request responseContext(const http::Request& request) {
  http::Request context;
  context.message.version(request.message.version());
  context.message.keep_alive(request.message.keep_alive());
  context.message.target(request.message.target());
  context.request_id = request.request_id;
  return context;
}

// Codes waiting for the store, with the response that hands them out. The response is built
// before the row is queued, so that the store's thread only sends it.
struct QueuedCodes {
  IssuedCodes codes;
  http::Response response;
};

void insertInBackground(const std::shared_ptr<BackgroundBegin>& begin, IssuedCodes codes);

// Completes a background begin once the store has its row or found it over a limit, or draws
// new codes after a collision as createAuthorization does. Runs on the store's thread.
void finishInBackground(const std::shared_ptr<BackgroundBegin>& begin, QueuedCodes& queued,
                        const StoreResult<CountedInsert>& inserted) {
  const http::Request& request = begin->request;
  if (inserted && inserted->inserted) {
    recordStart(request, begin->device_request, queued.codes);
    begin->response->complete(std::move(queued.response));
    return;
  }
  if (inserted) {
    // The store inserts no row over a limit, and waitAfter finds the limit it went over.
    const seconds wait =
        limits::waitAfter(begin->counters, inserted->counts, begin->now).value_or(seconds(1));
    begin->response->complete(errorResponse(
        request, deviceRequestsThrottled(request, begin->device_request.client, wait)));
    return;
  }
  if (!redrawAfter(inserted.error(), begin->attempt, request, begin->device_request)) {
    begin->response->complete(
        errorResponse(request, storeFailure(request, "insert_authorization", inserted.error())));
    return;
  }
  ++begin->attempt;
  IssuedCodes redrawn = drawCodes(begin->services, begin->device_request);
  redrawn.authorization.request_address = queued.codes.authorization.request_address;
  redrawn.authorization.request_user_agent = queued.codes.authorization.request_user_agent;
  insertInBackground(begin, std::move(redrawn));
}

void insertInBackground(const std::shared_ptr<BackgroundBegin>& begin, IssuedCodes codes) {
  auto queued = std::make_shared<QueuedCodes>();
  queued->response = respondDeviceAuthorization(
      begin->request, describeCodes(begin->services, begin->device_request.client, codes));
  queued->codes = std::move(codes);
  // Only the first attempt counts: new codes after a collision are the same request.
  InsertLimits limits;
  if (begin->attempt == 1) {
    limits = InsertLimits{limits::requestCounters(begin->counters), begin->now};
  }
  begin->services.store.insertCountedThen(
      queued->codes.authorization, limits,
      [begin, queued](const StoreResult<CountedInsert>& inserted) {
        finishInBackground(begin, *queued, inserted);
      });
}

// Holds the request and queues its row with the store, whose thread completes the request once
// the row is stored. Begins then wait in the store's insert queue instead of in handler threads, so
// that one commit takes the rows of all of them.
void beginInBackground(Services& services, const http::Request& request,
                       DeviceRequest device_request, std::vector<limits::Counter> counters,
                       TimePoint now) {
  auto begin = std::make_shared<BackgroundBegin>(BackgroundBegin{services, responseContext(request),
                                                                 std::move(device_request), nullptr,
                                                                 std::move(counters), now});
  // The callbacks belong to the held response, so they refer to it weakly.
  auto response_slot = std::make_shared<std::weak_ptr<http::HeldResponse>>();
  http::HoldCallbacks callbacks;
  callbacks.on_end = [response_slot, context = begin->request](http::HoldEnd) {
    if (auto response = response_slot->lock()) {
      response->complete(
          errorResponse(context, EndpointError{makeError(OAuthErrorCode::TemporarilyUnavailable)}));
    }
  };
  begin->response = request.deferral->hold(kBackgroundInsertMaxWait, std::move(callbacks));
  *response_slot = begin->response;

  IssuedCodes codes = drawCodes(services, begin->device_request);
  recordRequestOrigin(services, request, codes.authorization);
  insertInBackground(begin, std::move(codes));
}

}  // namespace

http::Response handleDeviceAuthorization(Services& services, const http::Request& request) {
  auto device_request = validateDeviceRequest(services, request);
  if (!device_request) {
    return errorResponse(request, device_request.error());
  }

  if (request.deferral && services.store.insertsInBackground()) {
    // Unlike checkFloodLimits, this path leaves the count to the transaction of the row.
    const TimePoint now = services.clock.now();
    const Client& client = device_request->client;
    std::vector<limits::Counter> counters = deviceRequestCounters(services, request, client);
    auto allowed = checkBeforeCounting(services, request, client, counters, now);
    if (!allowed) {
      return errorResponse(request, allowed.error());
    }
    beginInBackground(services, request, std::move(*device_request), std::move(counters), now);
    // The server sends what the held response completes with, not this.
    return {};
  }

  auto started = startAuthorization(services, request, *device_request);
  if (!started) {
    return errorResponse(request, started.error());
  }
  return respondDeviceAuthorization(request, *started);
}

EndpointResult<DeviceAuthorizationResponse> beginDeviceAuthorization(Services& services,
                                                                     const http::Request& request,
                                                                     const std::string& client_id) {
  auto found = services.store.findClient(client_id);
  if (!found) {
    return unexpected(storeFailure(request, "find_client", found.error()));
  }
  if (!found->has_value() || (*found)->type != ClientType::Public) {
    return fail(OAuthErrorCode::InvalidClient, "The client is unknown or not public.");
  }
  Client& client = **found;
  if (!client.device_grant) {
    return fail(OAuthErrorCode::UnauthorizedClient,
                "The client is not allowed to use the device authorization grant.");
  }

  std::string scope = joinScope(client.default_scopes);
  DeviceRequest device_request{std::move(client), std::move(scope), std::nullopt};
  return startAuthorization(services, request, device_request);
}

}  // namespace devauth::oauth

// POST /oauth/device/token with the device_code grant (RFC 8628 §3.4-3.5, RFC 6749 §5). The
// refresh_token grant shares checks 1 and 2, then continues in oauth/refresh_grant.cc.
//
// The checks run in this order, so that a malformed request never reaches the store and the
// state of a device code is revealed only to the client it was issued to:
//  1. the shared request checks (oauth/request_checks.h) -> invalid_request;
//  2. grant_type is present -> invalid_request, and is exactly the device_code URN or
//     refresh_token (case-sensitive) -> unsupported_grant_type;
//  3. device_code is present -> invalid_request;
//  4. client authentication (RFC 6749 §3.2.1) -> invalid_client or invalid_request;
//  5. the client may use the device grant -> unauthorized_client;
//  6. the device code is known and was issued to this client -> invalid_grant, with the same
//     body for both cases (RFC 6749 §5.2);
//  7. core decidePoll: redeemed -> invalid_grant, expired -> expired_token, denied ->
//     access_denied, approved -> redeem once and issue the token (with a refresh token when
//     the client has the refresh grant), pending -> slow_down or authorization_pending
//     (RFC 8628 §3.5). A pending code of this client is decided and recorded by one store
//     operation (Store::pollPending) before 6 and 7 read any other code;
//  8. an accepted authorization_pending poll with Prefer: wait=N (RFC 7240 §4.3) is held up to
//     min(N, max_poll_wait) seconds and answered when the authorization is decided or expires,
//     or with authorization_pending when the wait ends (oauth/held_polls.h).

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "core/device_code.h"
#include "core/scope.h"
#include "http/prefer.h"
#include "http/response.h"
#include "metrics/metrics.h"
#include "oauth/client_auth.h"
#include "oauth/endpoints.h"
#include "oauth/held_polls.h"
#include "oauth/relay_token.h"
#include "oauth/request_checks.h"
#include "oauth/signed_tokens.h"
#include "oauth/slow_down_cache.h"
#include "oauth/token_issue.h"

namespace devauth::oauth {
namespace {

// Device codes issued here are 43 characters. A longer value cannot be one, so it is rejected
// with invalid_grant before any hashing or lookup.
constexpr std::size_t kMaxDeviceCodeLength = 256;
// A poll that keeps losing its compare-and-set to concurrent polls of the same code gets
// slow_down after this many tries, because such a client polls too often anyway.
constexpr int kMaxPollAttempts = 5;

struct TokenRequest {
  Client client;
  std::string device_code;
};

// Returns the error response of `code` with its default description. The description stays
// empty, so that http::oauthErrorResponse uses the body it serialized once for the code.
http::Response errorCodeResponse(const http::Request& request, OAuthErrorCode code) {
  return errorResponse(request, EndpointError{OAuthError{code, {}}});
}

EndpointResult<TokenRequest> validateTokenRequest(Services& services, const http::Request& request,
                                                  const http::FormParams& form) {
  auto device_code = form.get("device_code");
  if (!device_code) {
    return fail(OAuthErrorCode::InvalidRequest, "Missing device_code.");
  }

  auto authenticated = authenticateClient(services, request, form);
  if (!authenticated) {
    return unexpected(authenticated.error());
  }
  if (!authenticated->client.device_grant) {
    return fail(OAuthErrorCode::UnauthorizedClient,
                "The client is not allowed to use the device authorization grant.");
  }
  return TokenRequest{std::move(authenticated->client), std::move(*device_code)};
}

// Loads the authorization of the device code. Unknown codes and codes of other clients get
// the same invalid_grant body, so a client learns nothing about codes that are not its own.
EndpointResult<Authorization> loadAuthorization(Services& services, const http::Request& request,
                                                const TokenRequest& token_request) {
  if (token_request.device_code.size() > kMaxDeviceCodeLength) {
    return fail(OAuthErrorCode::InvalidGrant);
  }
  auto found = services.store.findByDeviceCode(deviceCodeKey(token_request.device_code));
  if (!found) {
    return unexpected(storeFailure(request, "find_by_device_code", found.error()));
  }
  if (!found->has_value() || (*found)->client_id != token_request.client.id) {
    return fail(OAuthErrorCode::InvalidGrant);
  }
  return std::move(**found);
}

EndpointResult<TokenGrant> openRelayedGrant(const http::Request& request,
                                            const TokenRequest& token_request,
                                            const Authorization& authorization) {
  const auto opened = openRelayToken(token_request.device_code, *authorization.sealed_relay_token);
  const auto relayed = opened ? parseRelayToken(*opened) : std::nullopt;
  if (!relayed) {
    spdlog::error("event=relay_token_unreadable authorization_id={} request_id={}",
                  authorization.id, request.request_id);
    return fail(OAuthErrorCode::ServerError);
  }
  TokenGrant grant;
  grant.access_token = relayed->access_token;
  grant.token_type = relayed->token_type;
  grant.expires_in = relayed->expires_in;
  grant.scope = relayed->scope;
  return grant;
}

// The grant of a client with the refresh token grant: the approval from which its refresh
// tokens descend, with the absolute lifetime counted from redemption.
Grant refreshableGrant(Services& services, const Client& client, const Authorization& authorization,
                       const std::string& scope, TimePoint now) {
  return Grant{authorization.id,
               client.id,
               authorization.subject.value_or(""),
               scope,
               now,
               now + services.config.refresh_token_max_ttl,
               std::nullopt};
}

// Mints the access token in the client's format and, for the openid scope, an ID token. For a
// client with the refresh token grant it also draws the first refresh token of `refreshable`,
// and the access token does not outlive that grant.
EndpointResult<TokenGrant> mintGrant(Services& services, const http::Request& request,
                                     const TokenRequest& token_request,
                                     const Authorization& authorization,
                                     const std::optional<Grant>& refreshable, TimePoint now) {
  const Client& client = token_request.client;
  AccessTokenClaims claims{
      authorization.id, authorization.subject.value_or(""), authorization.decided_at,
      currentlyAllowedScope(client, authorization.scope), now + client.access_token_ttl};
  if (refreshable) {
    claims.expires_at = std::min(claims.expires_at, refreshable->expires_at);
  }
  auto grant = mintAccessToken(services, request, client, claims, now);
  if (!grant) {
    return unexpected(grant.error());
  }
  if (hasOpenIdScope(grant->scope)) {
    auto id_token =
        checkSigned(request, "id_token", signIdToken(services, client, authorization, now));
    if (!id_token) {
      return unexpected(id_token.error());
    }
    grant->id_token = std::move(*id_token);
  }
  return grant;
}

// Stores the redemption, with the grant and its first refresh token when `refreshable` is set,
// and returns whether this poll won the redemption.
StoreResult<bool> storeRedemption(Services& services, const Authorization& authorization,
                                  TokenGrant& grant, const std::optional<Grant>& refreshable,
                                  TimePoint now) {
  if (!refreshable || !grant.issued) {
    return services.store.redeem(authorization.id, grant.issued, now);
  }
  auto [refresh_token, record] = mintRefreshToken(services, *refreshable, now);
  grant.refresh_token = std::move(refresh_token);
  return services.store.redeemWithRefreshToken(authorization.id, *grant.issued, *refreshable,
                                               record, now);
}

// Counts the answer to a poll, and for an expired code the stage it expired at.
void countPoll(PollOutcome outcome, AuthorizationState state) {
  switch (outcome) {
    case PollOutcome::Pending:
      metrics::recordPoll(metrics::PollAnswer::Pending);
      return;
    case PollOutcome::SlowDown:
      metrics::recordPoll(metrics::PollAnswer::SlowDown);
      return;
    case PollOutcome::Denied:
      metrics::recordPoll(metrics::PollAnswer::Denied);
      return;
    case PollOutcome::Expired:
      metrics::recordPoll(metrics::PollAnswer::Expired);
      metrics::recordExpired(state == AuthorizationState::Approved ? metrics::ExpiredAt::Approved
                                                                   : metrics::ExpiredAt::Pending);
      return;
    case PollOutcome::Redeemed:
      metrics::recordPoll(metrics::PollAnswer::Redeemed);
      return;
    case PollOutcome::Approved:
      metrics::recordPoll(metrics::PollAnswer::Issued);
      metrics::recordStage(metrics::Stage::Redeemed);
      return;
  }
}

// Responds to a poll that lost the redemption race, from the state that the winner left.
http::Response respondFromCurrentState(Services& services, const http::Request& request,
                                       const TokenRequest& token_request, TimePoint now) {
  auto reloaded = loadAuthorization(services, request, token_request);
  if (!reloaded) {
    return errorResponse(request, reloaded.error());
  }
  const PollDecision decision = decidePoll(*reloaded, now, services.config.poll_policy);
  countPoll(decision.outcome == PollOutcome::Approved ? PollOutcome::Redeemed : decision.outcome,
            reloaded->state);
  const auto code = decision.outcome == PollOutcome::Approved
                        ? OAuthErrorCode::InvalidGrant
                        : errorForOutcome(decision.outcome).value_or(OAuthErrorCode::InvalidGrant);
  return errorCodeResponse(request, code);
}

// Redeems an approved authorization once (the store's conditional update decides races) and
// issues its token: the relayed one when a trusted backend handed one in, else a new one.
http::Response redeemAndRespond(Services& services, const http::Request& request,
                                const TokenRequest& token_request,
                                const Authorization& authorization, TimePoint now) {
  const bool relayed = authorization.sealed_relay_token.has_value();
  // A relayed token was not minted here, so no refresh token can renew it.
  std::optional<Grant> refreshable;
  if (!relayed && token_request.client.refresh_grant) {
    refreshable =
        refreshableGrant(services, token_request.client, authorization,
                         currentlyAllowedScope(token_request.client, authorization.scope), now);
  }
  auto grant = relayed
                   ? openRelayedGrant(request, token_request, authorization)
                   : mintGrant(services, request, token_request, authorization, refreshable, now);
  if (!grant) {
    return errorResponse(request, grant.error());
  }

  auto redeemed = storeRedemption(services, authorization, *grant, refreshable, now);
  if (!redeemed) {
    return errorResponse(request, storeFailure(request, "redeem", redeemed.error()));
  }
  if (!*redeemed) {
    return respondFromCurrentState(services, request, token_request, now);
  }

  countPoll(PollOutcome::Approved, authorization.state);
  spdlog::info(
      "event=token_issued audit=true authorization_id={} client_id={} outcome={} request_id={}",
      authorization.id, token_request.client.id, grant->issued ? "minted" : "relayed",
      request.request_id);
  return respondToken(request, *grant);
}

// The wait a poll is held for: min(Prefer: wait, max_poll_wait), and no longer than the
// authorization lives. Zero when the poll is answered at once.
seconds holdFor(Services& services, const http::Request& request, TimePoint expires_at,
                TimePoint now) {
  const auto preferred = http::preferredWait(request.message);
  if (!preferred || services.held_polls == nullptr) {
    return seconds{0};
  }
  const seconds wait = std::min(seconds{*preferred}, services.config.max_poll_wait);
  const auto lifetime = std::chrono::duration_cast<seconds>(expires_at - now);
  return std::max(seconds{0}, std::min(wait, lifetime + seconds{1}));
}

http::Response withPreferenceApplied(http::Response response, seconds wait) {
  response.set("Preference-Applied", "wait=" + std::to_string(wait.count()));
  return response;
}

// Re-reads the authorization of a held poll. The poll was recorded when the hold began
// (RFC 8628 §3.5 counts it once), so this check writes no polling state: it answers an approved,
// denied, redeemed or expired authorization, and a pending one only when `final` is set.
std::optional<http::Response> checkHeldPoll(Services& services, const http::Request& request,
                                            const TokenRequest& token_request, seconds wait,
                                            bool final) {
  auto authorization = loadAuthorization(services, request, token_request);
  if (!authorization) {
    return withPreferenceApplied(errorResponse(request, authorization.error()), wait);
  }
  const TimePoint now = services.clock.now();
  const bool pending =
      authorization->state == AuthorizationState::Pending && !authorization->isExpired(now);
  if (pending && !final) {
    return std::nullopt;
  }
  if (pending) {
    countPoll(PollOutcome::Pending, authorization->state);
    return withPreferenceApplied(errorCodeResponse(request, OAuthErrorCode::AuthorizationPending),
                                 wait);
  }
  const PollDecision decision = decidePoll(*authorization, now, services.config.poll_policy);
  if (decision.outcome == PollOutcome::Approved) {
    return withPreferenceApplied(
        redeemAndRespond(services, request, token_request, *authorization, now), wait);
  }
  countPoll(decision.outcome, authorization->state);
  const auto code = errorForOutcome(decision.outcome).value_or(OAuthErrorCode::InvalidGrant);
  return withPreferenceApplied(errorCodeResponse(request, code), wait);
}

// Holds an accepted authorization_pending poll (RFC 7240 §4.3). Returns false when the bounds
// on held polls are reached, and the poll is then answered at once.
bool holdPoll(Services& services, const http::Request& request, const TokenRequest& token_request,
              const std::string& authorization_id, seconds wait) {
  // The request outlives the handler call, so the checks keep their own copy without the body's
  // only owner being the connection.
  auto held_request = std::make_shared<http::Request>(
      http::Request{request.message, request.remote_address, request.request_id, nullptr});
  auto held_token_request = std::make_shared<TokenRequest>(token_request);
  HeldPolls::Check check = [&services, held_request, held_token_request, wait](bool final) {
    return checkHeldPoll(services, *held_request, *held_token_request, wait, final);
  };
  HeldPolls::StopAnswer stop_answer = [held_request, wait] {
    countPoll(PollOutcome::Pending, AuthorizationState::Pending);
    return withPreferenceApplied(
        errorCodeResponse(*held_request, OAuthErrorCode::AuthorizationPending), wait);
  };
  const HeldPollLimits limits{services.config.max_held_polls_per_client,
                              services.config.max_held_polls};
  return services.held_polls->hold(request, authorization_id, token_request.client.id, wait, limits,
                                   std::move(check), std::move(stop_answer));
}

// Responds to a poll from the authorization as read, for a code that pollPending did not find
// pending. A pending one gets its new polling state stored with a compare-and-set, and a poll
// that loses to a concurrent one reloads and decides again.
http::Response answerFromAuthorization(Services& services, const http::Request& request,
                                       const TokenRequest& token_request,
                                       Authorization authorization, TimePoint now) {
  for (int attempt = 0; attempt < kMaxPollAttempts; ++attempt) {
    const PollDecision decision = decidePoll(authorization, now, services.config.poll_policy);
    if (decision.outcome == PollOutcome::Approved) {
      return redeemAndRespond(services, request, token_request, authorization, now);
    }
    if (decision.outcome != PollOutcome::Pending && decision.outcome != PollOutcome::SlowDown) {
      countPoll(decision.outcome, authorization.state);
      return errorCodeResponse(request, *errorForOutcome(decision.outcome));
    }

    auto stored = services.store.updatePollState(
        authorization.id, PollState{authorization.last_poll_at, authorization.interval},
        PollState{decision.new_last_poll_at, decision.new_interval});
    if (!stored) {
      return errorResponse(request, storeFailure(request, "update_poll_state", stored.error()));
    }
    if (*stored) {
      const seconds wait = holdFor(services, request, authorization.expires_at, now);
      if (decision.outcome == PollOutcome::Pending && wait > seconds{0} &&
          holdPoll(services, request, token_request, authorization.id, wait)) {
        // The held response replaces this one (http/deferred.h).
        return errorCodeResponse(request, OAuthErrorCode::AuthorizationPending);
      }
      countPoll(decision.outcome, authorization.state);
      return errorCodeResponse(request, *errorForOutcome(decision.outcome));
    }

    auto reloaded = loadAuthorization(services, request, token_request);
    if (!reloaded) {
      return errorResponse(request, reloaded.error());
    }
    authorization = std::move(*reloaded);
  }
  countPoll(PollOutcome::SlowDown, authorization.state);
  return errorCodeResponse(request, OAuthErrorCode::SlowDown);
}

// Remembers until when polls of a code at the largest interval are slow_down, for
// answerEarlyPoll. Below that interval a slow_down raises the interval, which only the store
// may do.
void rememberEarlyPolls(Services& services, const SecretHash& hash, const std::string& client_id,
                        const PendingPoll& poll, std::uint64_t generation, TimePoint now) {
  const PollPolicy& policy = services.config.poll_policy;
  if (services.slow_downs == nullptr || !poll.state.last_poll_at ||
      poll.state.interval < policy.max_interval) {
    return;
  }
  // core decidePoll's bound for slow_down, and never past the code's expiry, after which a
  // poll is expired_token.
  const TimePoint until =
      std::min(*poll.state.last_poll_at + poll.state.interval - policy.tolerance, poll.expires_at);
  services.slow_downs->remember(hash, poll.authorization_id, client_id, until, &policy, generation,
                                now);
}

// Responds to a poll. Store::pollPending decides and records the poll of a pending code in one
// store operation. Any other code is read and handled by answerFromAuthorization, so an unknown
// code and a code of another client get the same invalid_grant and change nothing. An
// accepted poll with Prefer: wait is held.
http::Response answerPoll(Services& services, const http::Request& request,
                          const TokenRequest& token_request) {
  const TimePoint now = services.clock.now();
  StoreResult<std::optional<PendingPoll>> polled = std::optional<PendingPoll>();
  // A code too long to be one is left to loadAuthorization, which rejects it unread.
  if (token_request.device_code.size() <= kMaxDeviceCodeLength) {
    const SecretHash hash = deviceCodeKey(token_request.device_code);
    const std::uint64_t generation =
        services.slow_downs != nullptr ? services.slow_downs->generation() : 0;
    polled =
        services.store.pollPending(hash, token_request.client.id, now, services.config.poll_policy);
    if (polled && polled->has_value()) {
      rememberEarlyPolls(services, hash, token_request.client.id, **polled, generation, now);
    } else if (polled && services.slow_downs != nullptr) {
      // Not pending for this client: a decision or deletion that no feed reported, or another
      // client's code. Either way no poll of it may be slow_down from memory.
      services.slow_downs->forgetCode(hash);
    }
  }
  if (!polled) {
    return errorResponse(request, storeFailure(request, "poll_pending", polled.error()));
  }
  if (!polled->has_value()) {
    auto authorization = loadAuthorization(services, request, token_request);
    if (!authorization) {
      return errorResponse(request, authorization.error());
    }
    return answerFromAuthorization(services, request, token_request, std::move(*authorization),
                                   now);
  }

  const PendingPoll& poll = **polled;
  if (poll.outcome == PollOutcome::Pending) {
    const seconds wait = holdFor(services, request, poll.expires_at, now);
    if (wait > seconds{0} &&
        holdPoll(services, request, token_request, poll.authorization_id, wait)) {
      // The held response replaces this one (http/deferred.h).
      return errorCodeResponse(request, OAuthErrorCode::AuthorizationPending);
    }
  }
  countPoll(poll.outcome, AuthorizationState::Pending);
  return errorCodeResponse(request, *errorForOutcome(poll.outcome));
}

}  // namespace

std::optional<http::Response> answerEarlyPoll(Services& services, const http::Request& request) {
  if (services.slow_downs == nullptr || services.slow_downs->size() == 0 ||
      !request.message[http::beast_http::field::authorization].empty()) {
    return std::nullopt;
  }
  auto form = checkOAuthRequest(request);
  if (!form) {
    return std::nullopt;
  }
  const std::string* grant_type = form->find("grant_type");
  const std::string* device_code = form->find("device_code");
  const std::string* client_id = form->find("client_id");
  if (grant_type == nullptr || *grant_type != kDeviceCodeGrantType || device_code == nullptr ||
      device_code->size() > kMaxDeviceCodeLength || client_id == nullptr ||
      form->has("client_secret")) {
    return std::nullopt;
  }
  // The checks of handleToken for such a request: the client exists, is public and may use the
  // device grant. A client that is not cached is read by handleToken, which caches it.
  const auto client = services.store.findCachedClient(*client_id);
  if (!client || client->type != ClientType::Public || !client->device_grant) {
    return std::nullopt;
  }
  if (!services.slow_downs->isTooEarly(deviceCodeKey(*device_code), client->id,
                                       services.clock.now())) {
    return std::nullopt;
  }
  countPoll(PollOutcome::SlowDown, AuthorizationState::Pending);
  return errorCodeResponse(request, OAuthErrorCode::SlowDown);
}

http::Response handleToken(Services& services, const http::Request& request) {
  auto form = checkOAuthRequest(request);
  if (!form) {
    return errorResponse(request, EndpointError{form.error()});
  }
  const auto grant_type = form->get("grant_type");
  if (!grant_type) {
    return errorResponse(
        request, EndpointError{makeError(OAuthErrorCode::InvalidRequest, "Missing grant_type.")});
  }
  if (*grant_type == kRefreshTokenGrantType) {
    return handleRefreshTokenGrant(services, request, *form);
  }
  if (*grant_type != kDeviceCodeGrantType) {
    return errorResponse(request,
                         EndpointError{makeError(OAuthErrorCode::UnsupportedGrantType,
                                                 "Only grant_type "
                                                 "urn:ietf:params:oauth:grant-type:device_code and "
                                                 "refresh_token are supported.")});
  }

  auto token_request = validateTokenRequest(services, request, *form);
  if (!token_request) {
    return errorResponse(request, token_request.error());
  }

  return answerPoll(services, request, *token_request);
}

}  // namespace devauth::oauth

// POST /oauth/device/approve, /oauth/device/deny and /oauth/device/bind: the approval API. A
// trusted backend (a confidential client with may_approve, such as a bank's server) approves or
// denies the user code that its customer read out, in place of the person using the
// verification page. It can also bind the code to the customer, so that only that subject may
// decide (oauth/assisted_approval.h).
//
// The checks run in this order:
//  1. the shared request checks (oauth/request_checks.h) -> invalid_request;
//  2. client authentication as a confidential client -> invalid_client;
//  3. the client has may_approve -> unauthorized_client;
//  4. user_code and subject are present and well-formed, and so is the optional relayed
//     token of an approval -> invalid_request;
//  5. the code is known, unexpired, pending, and unbound or bound to `subject` ->
//     invalid_grant, with one body for all of them, so a binding cannot be probed;
//  6. an approval that relays a token is for a code whose client accepts relayed tokens, so
//     that the authorization has a relay key -> invalid_request. It runs after step 5, so a
//     caller gets this error only for a code that it may decide, and learns no more than a bind
//     reveals.
// The store's conditional update decides races between concurrent binds, approvals and denials.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <limits>

#include "core/scope.h"
#include "core/user_code.h"
#include "http/response.h"
#include "limits/abuse_limits.h"
#include "limits/check_digit.h"
#include "metrics/metrics.h"
#include "oauth/assisted_approval.h"
#include "oauth/client_auth.h"
#include "oauth/decision_audit.h"
#include "oauth/endpoints.h"
#include "oauth/relay_token.h"
#include "oauth/request_checks.h"

namespace devauth::oauth {
namespace {

constexpr std::size_t kMaxRelayedTokenLength = 4096;
// The largest expires_in accepted, so that every JSON client can hold it in a 32-bit integer.
constexpr std::int64_t kMaxExpiresIn = std::numeric_limits<std::int32_t>::max();

struct DecisionRequest {
  Client approver;
  std::string user_code;
  std::string subject;
  std::optional<RelayToken> relay_token;
};

// RFC 6749 Appendix A: access_token and token_type are 1*VSCHAR (%x20-7E).
bool isVisibleAscii(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) <= 0x7e;
  });
}

EndpointResult<std::int64_t> parseExpiresIn(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value <= 0 ||
      value > kMaxExpiresIn) {
    return fail(OAuthErrorCode::InvalidRequest,
                "expires_in must be a positive integer number of seconds.");
  }
  return value;
}

// Reads the optional token that the backend relays to the device. token_type, expires_in and
// scope describe that token and are rejected without it.
EndpointResult<std::optional<RelayToken>> parseRelayParameters(const http::FormParams& form) {
  const auto access_token = form.get("access_token");
  const auto token_type = form.get("token_type");
  const auto expires_in = form.get("expires_in");
  const auto scope = form.get("scope");
  if (!access_token) {
    if (token_type || expires_in || scope) {
      return fail(OAuthErrorCode::InvalidRequest,
                  "token_type, expires_in and scope are only valid with access_token.");
    }
    return std::optional<RelayToken>();
  }
  if (access_token->size() > kMaxRelayedTokenLength || !isVisibleAscii(*access_token)) {
    return fail(OAuthErrorCode::InvalidRequest,
                "access_token must be at most 4096 printable ASCII characters.");
  }

  RelayToken token;
  token.access_token = *access_token;
  if (token_type) {
    if (token_type->size() > 64 || !isVisibleAscii(*token_type)) {
      return fail(OAuthErrorCode::InvalidRequest, "token_type is malformed.");
    }
    token.token_type = *token_type;
  }
  if (expires_in) {
    auto seconds = parseExpiresIn(*expires_in);
    if (!seconds) {
      return unexpected(seconds.error());
    }
    token.expires_in = *seconds;
  }
  if (scope) {
    const auto scopes = parseScope(*scope);
    if (!scopes) {
      return fail(OAuthErrorCode::InvalidRequest, "scope is malformed.");
    }
    token.scope = joinScope(*scopes);
  }
  return std::optional<RelayToken>(std::move(token));
}

EndpointResult<Client> authenticateApprover(Services& services, const http::Request& request,
                                            const http::FormParams& form) {
  auto authenticated = authenticateClient(services, request, form);
  if (!authenticated) {
    return unexpected(authenticated.error());
  }
  Client& client = authenticated->client;
  if (client.type != ClientType::Confidential) {
    return unexpected(EndpointError{makeError(OAuthErrorCode::InvalidClient,
                                              "The approval API requires client authentication."),
                                    authenticated->used_basic});
  }
  if (!client.may_approve) {
    return fail(OAuthErrorCode::UnauthorizedClient,
                "The client is not allowed to approve, deny or bind device authorizations.");
  }
  return std::move(client);
}

EndpointResult<DecisionRequest> validateDecisionRequest(Services& services,
                                                        const http::Request& request,
                                                        DecisionAction action) {
  auto form = checkOAuthRequest(request);
  if (!form) {
    return unexpected(EndpointError{form.error()});
  }
  auto approver = authenticateApprover(services, request, *form);
  if (!approver) {
    return unexpected(approver.error());
  }

  const auto user_code_input = form->get("user_code");
  if (!user_code_input) {
    return fail(OAuthErrorCode::InvalidRequest, "Missing user_code.");
  }
  auto user_code = normalizeUserCode(*user_code_input);
  if (!user_code) {
    return fail(OAuthErrorCode::InvalidRequest,
                "user_code must be 6 to 12 letters from BCDFGHJKLMNPQRSTVWXZ or 6 to 15 digits, "
                "dashes allowed.");
  }
  auto subject = checkSubjectParameter("subject", form->get("subject"));
  if (!subject) {
    return unexpected(subject.error());
  }

  std::optional<RelayToken> relay_token;
  if (action == DecisionAction::Approve) {
    auto relay = parseRelayParameters(*form);
    if (!relay) {
      return unexpected(relay.error());
    }
    relay_token = std::move(*relay);
  }
  return DecisionRequest{std::move(*approver), std::move(*user_code), std::move(*subject),
                         std::move(relay_token)};
}

// Unknown, expired, already decided and otherwise bound codes get one body, so the API reveals
// no more about a code than the verification page does.
EndpointError undecidableCode() {
  return EndpointError{makeError(OAuthErrorCode::InvalidGrant,
                                 "The user code is unknown, expired or already decided.")};
}

DecisionAudit describeAction(const http::Request& request, const DecisionRequest& decision_request,
                             const Authorization& authorization, DecisionAction action,
                             DecisionOutcome outcome) {
  DecisionAudit audit;
  audit.action = action;
  audit.outcome = outcome;
  audit.authorization_id = authorization.id;
  audit.client_id = authorization.client_id;
  audit.subject = decision_request.subject;
  audit.actor = "client:" + decision_request.approver.id;
  audit.request_id = request.request_id;
  return audit;
}

// Whether `subject` may decide on `authorization`: it is unbound or bound to that subject.
bool allowsSubject(const Authorization& authorization, const std::string& subject) {
  return !authorization.bound_subject || *authorization.bound_subject == subject;
}

// Loads the authorization of the user code. Guessing limits (RFC 8628 §5.1) apply as on the
// verification page, with the approving client in place of the browser session: a caller over
// its failure budget is rejected before the lookup, and every miss counts. A code bound to
// another subject is a miss like an unknown code.
EndpointResult<Authorization> loadPendingAuthorization(Services& services,
                                                       const http::Request& request,
                                                       const DecisionRequest& decision_request,
                                                       DecisionAction action, TimePoint now) {
  const auto counters = limits::userCodeFailureCounters(
      services.config.limits, limits::sourceAddress(request, services.config.trust_forwarded_for),
      "client:" + decision_request.approver.id);
  auto wait = limits::exceededWait(services.store, counters, now);
  if (!wait) {
    return unexpected(storeFailure(request, "read_counter", wait.error()));
  }
  if (*wait) {
    spdlog::warn("event=user_code_attempts_throttled client_id={} request_id={}",
                 decision_request.approver.id, request.request_id);
    metrics::recordBlock(metrics::Limit::UserCode);
    return rateLimited(**wait);
  }

  auto mistyped = limits::isMistypedCheckDigit(services.store, decision_request.user_code);
  if (!mistyped) {
    return unexpected(storeFailure(request, "list_clients", mistyped.error()));
  }
  if (*mistyped) {
    return fail(OAuthErrorCode::InvalidRequest,
                "The user_code has a wrong check digit: check the code, a digit is mistyped.");
  }

  auto found = services.store.findByUserCode(hashSecret(decision_request.user_code));
  if (!found) {
    return unexpected(storeFailure(request, "find_by_user_code", found.error()));
  }
  const bool open = found->has_value() && (*found)->state == AuthorizationState::Pending &&
                    !(*found)->isExpired(now);
  if (!open || !allowsSubject(**found, decision_request.subject)) {
    metrics::recordGuess(metrics::Guess::UserCode);
    if (found->has_value() && (*found)->isExpired(now)) {
      metrics::recordExpired(metrics::ExpiredAt::CodeEntry);
    }
    if (open) {
      writeDecisionAudit(describeAction(request, decision_request, **found, action,
                                        DecisionOutcome::SubjectMismatch));
    }
    auto counted = limits::countFailure(services.store, counters, now);
    if (!counted) {
      return unexpected(storeFailure(request, "count_failure", counted.error()));
    }
    return unexpected(undecidableCode());
  }
  // A backend that binds a code and later approves it entered the code once for the funnel.
  if (action != DecisionAction::Bind) {
    metrics::recordStage(metrics::Stage::CodeEntered);
  }
  return std::move(**found);
}

// A relayed token is sealed to the authorization's relay key, which begin derives only for a
// client that accepts relayed tokens. Nothing is stored, so the code stays pending.
EndpointResult<void> checkRelayAccepted(const DecisionRequest& decision_request,
                                        const Authorization& authorization) {
  if (!decision_request.relay_token || authorization.relay_public_key) {
    return {};
  }
  return fail(OAuthErrorCode::InvalidRequest,
              "The device's client does not accept relayed tokens: approve without access_token, "
              "or enable them with `devauth client update CLIENT_ID --relay-tokens` and start a "
              "new device authorization.");
}

const char* storeOperation(DecisionAction action) {
  switch (action) {
    case DecisionAction::Bind:
      return "bind_subject";
    case DecisionAction::Approve:
      return "approve";
    case DecisionAction::Deny:
      return "deny";
  }
  return "decide";
}

const char* stateAfter(DecisionAction action) {
  switch (action) {
    case DecisionAction::Bind:
      return "pending";
    case DecisionAction::Approve:
      return "approved";
    case DecisionAction::Deny:
      return "denied";
  }
  return "pending";
}

// Applies the action with the store's conditional update. The update does not apply when
// another decider, a binding to another subject or the expiry came first.
EndpointResult<void> applyAction(Services& services, const http::Request& request,
                                 const DecisionRequest& decision_request,
                                 const Authorization& authorization, DecisionAction action,
                                 TimePoint now) {
  StoreResult<bool> applied = true;
  if (action == DecisionAction::Bind) {
    applied = services.store.bindSubject(authorization.id, decision_request.subject, now);
  } else if (action == DecisionAction::Approve) {
    std::optional<std::string> sealed;
    // checkRelayAccepted has made sure that a relayed token comes with a relay key.
    if (decision_request.relay_token && authorization.relay_public_key) {
      sealed = sealRelayToken(*authorization.relay_public_key,
                              serializeRelayToken(*decision_request.relay_token));
    }
    applied = services.store.approve(authorization.id, decision_request.subject, sealed, now);
  } else {
    applied = services.store.deny(authorization.id, decision_request.subject, now);
  }
  if (!applied) {
    return unexpected(storeFailure(request, storeOperation(action), applied.error()));
  }
  if (!*applied) {
    writeDecisionAudit(describeAction(request, decision_request, authorization, action,
                                      DecisionOutcome::LostRace));
    return unexpected(undecidableCode());
  }
  return {};
}

// The response to a stored action. client_id is the device's client, and a bind also returns
// the subject it bound.
http::Response respondAction(const http::Request& request, const DecisionRequest& decision_request,
                             const Authorization& authorization, DecisionAction action) {
  boost::json::object body;
  body["authorization_id"] = authorization.id;
  body["state"] = stateAfter(action);
  body["client_id"] = authorization.client_id;
  body["scope"] = authorization.scope;
  if (action == DecisionAction::Bind) {
    body["bound_subject"] = decision_request.subject;
  }
  return http::jsonResponse(request, 200, body);
}

http::Response handleAction(Services& services, const http::Request& request,
                            DecisionAction action) {
  auto decision_request = validateDecisionRequest(services, request, action);
  if (!decision_request) {
    return errorResponse(request, decision_request.error());
  }

  const TimePoint now = services.clock.now();
  auto authorization = loadPendingAuthorization(services, request, *decision_request, action, now);
  if (!authorization) {
    return errorResponse(request, authorization.error());
  }

  auto accepted = checkRelayAccepted(*decision_request, *authorization);
  if (!accepted) {
    return errorResponse(request, accepted.error());
  }

  auto applied = applyAction(services, request, *decision_request, *authorization, action, now);
  if (!applied) {
    return errorResponse(request, applied.error());
  }

  if (action != DecisionAction::Bind) {
    metrics::recordStage(action == DecisionAction::Approve ? metrics::Stage::Approved
                                                           : metrics::Stage::Denied);
  }
  writeDecisionAudit(
      describeAction(request, *decision_request, *authorization, action, DecisionOutcome::Done));
  return respondAction(request, *decision_request, *authorization, action);
}

}  // namespace

http::Response handleApprove(Services& services, const http::Request& request) {
  return handleAction(services, request, DecisionAction::Approve);
}

http::Response handleDeny(Services& services, const http::Request& request) {
  return handleAction(services, request, DecisionAction::Deny);
}

http::Response handleBind(Services& services, const http::Request& request) {
  return handleAction(services, request, DecisionAction::Bind);
}

}  // namespace devauth::oauth

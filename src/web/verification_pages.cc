#include "web/verification_pages.h"

#include <spdlog/spdlog.h>

#include "core/scope.h"
#include "core/secret.h"
#include "core/user_code.h"
#include "http/form.h"
#include "http/request_origin.h"
#include "http/response.h"
#include "limits/abuse_limits.h"
#include "limits/check_digit.h"
#include "metrics/metrics.h"
#include "oauth/decision_audit.h"
#include "web/code_attempt_limits.h"
#include "web/page_context.h"
#include "web/pages.h"
#include "web/session.h"

namespace devauth::web {
namespace {

using http::beast_http::field;
using M = MessageId;

// Either the value a step produced or the page to send instead.
template <typename T>
using PageResult = Expected<T, http::Response>;

// A ?user_code= longer than this is not echoed into the form. A real code has 8 characters
// plus separators.
constexpr std::size_t kMaxPrefillBytes = 64;

http::Response storeFailurePage(const http::Request& request, const PageContext& context,
                                const StoreError& error) {
  const bool unavailable = error.kind == StoreError::Kind::Unavailable;
  spdlog::log(unavailable ? spdlog::level::warn : spdlog::level::err,
              "event=store_failed endpoint={} request_id={} error=\"{}\"", request.path(),
              request.request_id, error.message);
  const Messages& messages = context.messages;
  return pageResponse(request, context, unavailable ? 503 : 500,
                      renderMessage(context, messages(M::ErrorTitle), messages(M::ServerFailure)));
}

http::Response withSessionCookie(http::Response response, const Config& config,
                                 const WebSession& session) {
  response.set(field::set_cookie, sessionCookie(config, session));
  return response;
}

struct EnsuredSession {
  WebSession session;
  // Whether the session is new, so its cookie must be sent.
  bool created = false;
};

StoreResult<EnsuredSession> ensureSession(Services& services, const http::Request& request) {
  auto loaded = loadSession(services, request);
  if (!loaded) {
    return unexpected(loaded.error());
  }
  if (loaded->has_value()) {
    return EnsuredSession{std::move(**loaded), false};
  }
  auto created = createSession(services);
  if (!created) {
    return unexpected(created.error());
  }
  return EnsuredSession{std::move(*created), true};
}

// The ?user_code= of verification_uri_complete (RFC 8628 §3.3.1). It only pre-fills the form:
// the person still confirms it, so a link alone never starts an approval.
std::string prefillFromQuery(const http::Request& request) {
  auto query = http::parseForm(request.query());
  if (!query) {
    return {};
  }
  auto value = query->get(kUserCodeField);
  if (!value || value->size() > kMaxPrefillBytes) {
    return {};
  }
  return *value;
}

// A submitted form whose CSRF token matched the browser's session.
struct CheckedForm {
  http::FormParams params;
  WebSession session;
};

http::Response formExpiredPage(const http::Request& request, const PageContext& context) {
  spdlog::debug("event=csrf_rejected endpoint={} request_id={}", request.path(),
                request.request_id);
  const Messages& messages = context.messages;
  return pageResponse(
      request, context, 403,
      renderMessage(context, messages(M::FormExpiredTitle), messages(M::FormExpired)));
}

// Parses the body, loads the session and checks the CSRF token. A form without a session or
// with a wrong token changes nothing and gets 403.
PageResult<CheckedForm> readCheckedForm(Services& services, const http::Request& request,
                                        const PageContext& context) {
  auto params = http::parseForm(request.message.body());
  if (!params) {
    const Messages& messages = context.messages;
    return unexpected(
        pageResponse(request, context, 400,
                     renderMessage(context, messages(M::ErrorTitle), messages(M::FormUnreadable))));
  }

  auto session = loadSession(services, request);
  if (!session) {
    return unexpected(storeFailurePage(request, context, session.error()));
  }

  const auto submitted = params->get(kCsrfField);
  if (!session->has_value() || !submitted || !checkCsrfToken(**session, *submitted)) {
    return unexpected(formExpiredPage(request, context));
  }
  return CheckedForm{std::move(*params), std::move(**session)};
}

http::Response codeRejectedPage(const http::Request& request, const PageContext& context,
                                const WebSession& session, M message = M::CodeRejected) {
  CodeFormView view;
  view.csrf_token = csrfToken(session);
  view.error = context.messages(message);
  return pageResponse(request, context, 400, renderCodeForm(context, view));
}

// An authorization a person may still decide on, with the canonical code that named it.
struct DecidableCode {
  std::string user_code;
  Authorization authorization;
};

// Looks up the code a person entered. Malformed, unknown, expired, approved and denied codes
// all get the same page, so the page reveals nothing about which codes exist (RFC 8628 §5.1).
// A session or address over its failure budget gets the 429 page before any lookup, and every
// well-formed code that finds nothing counts as a failure (web/code_attempt_limits.h).
PageResult<DecidableCode> findDecidableCode(Services& services, const http::Request& request,
                                            const PageContext& context, const WebSession& session,
                                            const std::optional<std::string>& input) {
  auto wait = codeAttemptWait(services, request, session);
  if (!wait) {
    return unexpected(storeFailurePage(request, context, wait.error()));
  }
  if (*wait) {
    return unexpected(tooManyAttemptsPage(request, context, **wait));
  }

  auto canonical = input ? normalizeUserCode(*input) : std::nullopt;
  if (!canonical) {
    return unexpected(codeRejectedPage(request, context, session));
  }
  auto mistyped = limits::isMistypedCheckDigit(services.store, *canonical);
  if (!mistyped) {
    return unexpected(storeFailurePage(request, context, mistyped.error()));
  }
  if (*mistyped) {
    spdlog::debug("event=user_code_check_digit_failed request_id={}", request.request_id);
    return unexpected(codeRejectedPage(request, context, session, M::CheckDigitMismatch));
  }

  auto found = services.store.findByUserCode(hashSecret(*canonical));
  if (!found) {
    return unexpected(storeFailurePage(request, context, found.error()));
  }

  const std::optional<Authorization>& authorization = found.value();
  if (!authorization || authorization->state != AuthorizationState::Pending ||
      authorization->isExpired(services.clock.now())) {
    spdlog::debug("event=user_code_rejected request_id={}", request.request_id);
    if (authorization && authorization->isExpired(services.clock.now())) {
      metrics::recordExpired(metrics::ExpiredAt::CodeEntry);
    }
    auto counted = countCodeFailure(services, request, session);
    if (!counted) {
      return unexpected(storeFailurePage(request, context, counted.error()));
    }
    return unexpected(codeRejectedPage(request, context, session));
  }
  return DecidableCode{std::move(*canonical), std::move(*found.value())};
}

// A code bound to another subject (assisted approval) gets the wrong-code page and counts as a
// failed attempt like an unknown code, so a person cannot learn that a binding exists.
PageResult<void> checkBoundSubject(Services& services, const http::Request& request,
                                   const PageContext& context, const WebSession& session,
                                   const DecidableCode& code, const std::string& subject) {
  const std::optional<std::string>& bound = code.authorization.bound_subject;
  if (!bound || *bound == subject) {
    return {};
  }
  spdlog::debug("event=user_code_rejected request_id={}", request.request_id);
  auto counted = countCodeFailure(services, request, session);
  if (!counted) {
    return unexpected(storeFailurePage(request, context, counted.error()));
  }
  return unexpected(codeRejectedPage(request, context, session));
}

http::Response signInPage(const http::Request& request, const PageContext& context, unsigned status,
                          const WebSession& session, const std::string& user_code,
                          std::string username = {}, std::string_view error = {}) {
  SignInView view;
  view.csrf_token = csrfToken(session);
  view.user_code = user_code;
  view.username = std::move(username);
  view.error = error;
  return pageResponse(request, context, status, renderSignInForm(context, view));
}

std::vector<std::string> scopeList(const std::string& scope) {
  if (scope.empty()) {
    return {};
  }
  return parseScope(scope).value_or(std::vector<std::string>{scope});
}

// The name the consent page shows for the signed-in subject: the username of its local user,
// or the subject itself when no local user has it.
StoreResult<std::string> accountName(Services& services, const std::string& subject) {
  auto user = services.store.findUserBySubject(subject);
  if (!user) {
    return unexpected(user.error());
  }
  return user->has_value() ? (*user)->username : subject;
}

http::Response consentPage(Services& services, const http::Request& request,
                           const PageContext& context, const WebSession& session,
                           const DecidableCode& code) {
  auto client = services.store.findClient(code.authorization.client_id);
  if (!client) {
    return storeFailurePage(request, context, client.error());
  }
  if (!client->has_value()) {
    return codeRejectedPage(request, context, session);
  }
  auto account = accountName(services, session.record.subject.value_or(""));
  if (!account) {
    return storeFailurePage(request, context, account.error());
  }

  ConsentView view;
  view.csrf_token = csrfToken(session);
  view.user_code = code.user_code;
  view.client_id = code.authorization.client_id;
  view.client_name = (*client)->name.empty() ? (*client)->id : (*client)->name;
  view.scopes = scopeList(code.authorization.scope);
  view.requested_at =
      describeRequestTime(context.messages, code.authorization.created_at, services.clock.now());
  view.device_description = code.authorization.request_user_agent;
  view.request_address = code.authorization.request_address;
  view.browser_address =
      http::canonicalAddress(limits::sourceAddress(request, services.config.trust_forwarded_for));
  view.signed_in_as = std::move(*account);
  return pageResponse(request, context, 200, renderConsent(context, view));
}

// A password hash to verify against when the username is unknown, so that an unknown user
// and a wrong password take about the same time.
const std::string& dummyPasswordHash() {
  static const std::string hash = hashPassword("devauth unknown-user placeholder");
  return hash;
}

// Returns the subject of the user whose username and password match, or nullopt.
StoreResult<std::optional<std::string>> authenticate(Services& services,
                                                     const http::FormParams& params) {
  const std::string username = params.get(kUsernameField).value_or("");
  const std::string password = params.get(kPasswordField).value_or("");

  auto user = username.empty() ? StoreResult<std::optional<User>>(std::optional<User>())
                               : services.store.findUser(username);
  if (!user) {
    return unexpected(user.error());
  }

  if (!user->has_value()) {
    verifyPassword(password, dummyPasswordHash());
    return std::optional<std::string>();
  }
  if (!verifyPassword(password, (*user)->password_hash)) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>((*user)->subject);
}

std::optional<Decision> parseDecision(const std::optional<std::string>& value) {
  if (value == "approve") {
    return Decision::Approve;
  }
  if (value == "deny") {
    return Decision::Deny;
  }
  return std::nullopt;
}

// Stores the decision with a conditional update. Returns false when, since it was read, the
// authorization was decided, expired or bound to another subject.
StoreResult<bool> recordDecision(Services& services, const Authorization& authorization,
                                 const std::string& subject, Decision decision) {
  const TimePoint now = services.clock.now();
  if (decision == Decision::Approve) {
    return services.store.approve(authorization.id, subject, std::nullopt, now);
  }
  return services.store.deny(authorization.id, subject, now);
}

void auditDecision(const http::Request& request, const Authorization& authorization,
                   const std::string& subject, Decision decision, oauth::DecisionOutcome outcome) {
  oauth::DecisionAudit audit;
  audit.action =
      decision == Decision::Approve ? oauth::DecisionAction::Approve : oauth::DecisionAction::Deny;
  audit.outcome = outcome;
  audit.authorization_id = authorization.id;
  audit.client_id = authorization.client_id;
  audit.subject = subject;
  audit.actor = "user:" + subject;
  audit.request_id = request.request_id;
  oauth::writeDecisionAudit(audit);
}

http::Response signInRequiredPage(const http::Request& request, const PageContext& context) {
  const Messages& messages = context.messages;
  return pageResponse(
      request, context, 401,
      renderMessage(context, messages(M::SignInRequiredTitle), messages(M::SignInRequired)));
}

http::Response malformedDecisionPage(const http::Request& request, const PageContext& context) {
  const Messages& messages = context.messages;
  return pageResponse(
      request, context, 400,
      renderMessage(context, messages(M::ErrorTitle), messages(M::MalformedDecision)));
}

}  // namespace

http::Response handleDevicePage(Services& services, const http::Request& request) {
  const PageContext context = makePageContext(services, request);
  CodeFormView view;
  view.prefill = prefillFromQuery(request);

  auto ensured = ensureSession(services, request);
  if (!ensured) {
    return storeFailurePage(request, context, ensured.error());
  }

  view.csrf_token = csrfToken(ensured->session);
  http::Response response = pageResponse(request, context, 200, renderCodeForm(context, view));
  if (ensured->created) {
    return withSessionCookie(std::move(response), services.config, ensured->session);
  }
  return response;
}

http::Response handleCodeSubmit(Services& services, const http::Request& request) {
  const PageContext context = makePageContext(services, request);
  auto form = readCheckedForm(services, request, context);
  if (!form) {
    return form.error();
  }

  auto code = findDecidableCode(services, request, context, form->session,
                                form->params.get(kUserCodeField));
  if (!code) {
    return code.error();
  }
  if (form->session.signedIn()) {
    auto allowed = checkBoundSubject(services, request, context, form->session, *code,
                                     *form->session.record.subject);
    if (!allowed) {
      return allowed.error();
    }
  }
  metrics::recordStage(metrics::Stage::CodeEntered);

  if (!form->session.signedIn()) {
    return signInPage(request, context, 200, form->session, code->user_code);
  }
  return consentPage(services, request, context, form->session, *code);
}

http::Response handleLogin(Services& services, const http::Request& request) {
  const PageContext context = makePageContext(services, request);
  auto form = readCheckedForm(services, request, context);
  if (!form) {
    return form.error();
  }

  auto code = findDecidableCode(services, request, context, form->session,
                                form->params.get(kUserCodeField));
  if (!code) {
    return code.error();
  }

  auto subject = authenticate(services, form->params);
  if (!subject) {
    return storeFailurePage(request, context, subject.error());
  }
  if (!subject->has_value()) {
    spdlog::debug("event=sign_in_failed request_id={}", request.request_id);
    metrics::recordGuess(metrics::Guess::Password);
    return signInPage(request, context, 401, form->session, code->user_code,
                      form->params.get(kUsernameField).value_or(""),
                      context.messages(M::BadCredentials));
  }

  // The session stays signed out when the code is bound to someone else, as after a wrong code.
  auto allowed = checkBoundSubject(services, request, context, form->session, *code, **subject);
  if (!allowed) {
    return allowed.error();
  }
  auto signed_in = signIn(services, form->session, **subject);
  if (!signed_in) {
    return storeFailurePage(request, context, signed_in.error());
  }
  return withSessionCookie(consentPage(services, request, context, *signed_in, *code),
                           services.config, *signed_in);
}

http::Response handleDecision(Services& services, const http::Request& request) {
  const PageContext context = makePageContext(services, request);
  auto form = readCheckedForm(services, request, context);
  if (!form) {
    return form.error();
  }
  if (!form->session.signedIn()) {
    return signInRequiredPage(request, context);
  }
  const auto decision = parseDecision(form->params.get(kDecisionField));
  if (!decision) {
    return malformedDecisionPage(request, context);
  }

  auto code = findDecidableCode(services, request, context, form->session,
                                form->params.get(kUserCodeField));
  if (!code) {
    return code.error();
  }

  const std::string& subject = *form->session.record.subject;
  auto allowed = checkBoundSubject(services, request, context, form->session, *code, subject);
  if (!allowed) {
    auditDecision(request, code->authorization, subject, *decision,
                  oauth::DecisionOutcome::SubjectMismatch);
    return allowed.error();
  }
  auto recorded = recordDecision(services, code->authorization, subject, *decision);
  if (!recorded) {
    return storeFailurePage(request, context, recorded.error());
  }
  if (!*recorded) {
    auditDecision(request, code->authorization, subject, *decision,
                  oauth::DecisionOutcome::LostRace);
    return codeRejectedPage(request, context, form->session);
  }

  metrics::recordStage(*decision == Decision::Approve ? metrics::Stage::Approved
                                                      : metrics::Stage::Denied);
  auditDecision(request, code->authorization, subject, *decision, oauth::DecisionOutcome::Done);
  return pageResponse(request, context, 200, renderDone(context, *decision));
}

}  // namespace devauth::web

#pragma once

// The audit line of every bind, approval and denial of a device authorization, from the
// approval API and from the verification page alike: one spdlog info line with audit=true.
// It names the authorization, the device's client, the subject, the actor and the outcome,
// never a code or token.

#include <string>
#include <string_view>

namespace devauth::oauth {

enum class DecisionAction { Bind, Approve, Deny };

enum class DecisionOutcome {
  // The action was stored: outcome=bound, approved or denied.
  Done,
  // The authorization is bound to another subject. The caller received the wrong-code response.
  SubjectMismatch,
  // The conditional update did not apply because a decision, a binding or the expiry came
  // first. The caller received the wrong-code response.
  LostRace,
};

struct DecisionAudit {
  DecisionAction action = DecisionAction::Approve;
  DecisionOutcome outcome = DecisionOutcome::Done;
  std::string authorization_id;
  // The client that started the device authorization.
  std::string client_id;
  // The subject that the action names: bound to, approved or denied for.
  std::string subject;
  // The acting party: "client:ID" for a trusted backend, "user:SUBJECT" for a person signed in
  // on the verification page.
  std::string actor;
  std::string request_id;
};

// Writes `audit` as one line. Values that are not plain tokens are quoted, so a subject with
// spaces or quotes cannot forge other keys.
void writeDecisionAudit(const DecisionAudit& audit);

// The event name of `audit`, for example authorization_approved or authorization_bind_rejected.
std::string_view decisionEvent(const DecisionAudit& audit);

}  // namespace devauth::oauth

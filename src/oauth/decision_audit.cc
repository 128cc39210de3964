#include "oauth/decision_audit.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace devauth::oauth {
namespace {

std::string_view outcomeName(const DecisionAudit& audit) {
  switch (audit.outcome) {
    case DecisionOutcome::Done:
      break;
    case DecisionOutcome::SubjectMismatch:
      return "subject_mismatch";
    case DecisionOutcome::LostRace:
      return "lost_race";
  }
  switch (audit.action) {
    case DecisionAction::Bind:
      return "bound";
    case DecisionAction::Approve:
      return "approved";
    case DecisionAction::Deny:
      return "denied";
  }
  return "unknown";
}

// Quotes `value` for the key=value log format, with a backslash before " and \, unless it is
// a non-empty run of characters that need no quoting.
std::string logValue(std::string_view value) {
  const bool plain = !value.empty() && std::none_of(value.begin(), value.end(), [](char c) {
    return c == ' ' || c == '"' || c == '\\' || c == '=' || static_cast<unsigned char>(c) < 0x20 ||
           static_cast<unsigned char>(c) > 0x7e;
  });
  if (plain) {
    return std::string(value);
  }
  std::string quoted = "\"";
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
    }
    // A control character could end the line and start a forged one.
    quoted.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  }
  quoted.push_back('"');
  return quoted;
}

}  // namespace

std::string_view decisionEvent(const DecisionAudit& audit) {
  const bool done = audit.outcome == DecisionOutcome::Done;
  switch (audit.action) {
    case DecisionAction::Bind:
      return done ? "authorization_bound" : "authorization_bind_rejected";
    case DecisionAction::Approve:
      return done ? "authorization_approved" : "authorization_approval_rejected";
    case DecisionAction::Deny:
      return done ? "authorization_denied" : "authorization_denial_rejected";
  }
  return "authorization_decision";
}

void writeDecisionAudit(const DecisionAudit& audit) {
  spdlog::info(
      "event={} audit=true authorization_id={} client_id={} subject={} actor={} outcome={} "
      "request_id={}",
      decisionEvent(audit), logValue(audit.authorization_id), logValue(audit.client_id),
      logValue(audit.subject), logValue(audit.actor), outcomeName(audit),
      logValue(audit.request_id));
}

}  // namespace devauth::oauth

#pragma once

// The HTML of each verification page, separate from the handlers that choose which one to
// send. Every function escapes the values it interpolates.

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace devauth::web {

// One message for every code that cannot be used (wrong, expired, already approved or
// denied), so the page does not reveal which codes exist (RFC 8628 §5.1).
inline constexpr std::string_view kCodeRejectedMessage =
    "That code didn't work. Check the code on your device and try again. If it has expired, "
    "start again on the device.";
inline constexpr std::string_view kFormExpiredMessage =
    "This form expired. Reload the page and try again.";
inline constexpr std::string_view kBadCredentialsMessage = "Incorrect username or password.";

// Names of the form fields, shared by the pages and the handlers that read them.
inline constexpr std::string_view kCsrfField = "csrf_token";
inline constexpr std::string_view kUserCodeField = "user_code";
inline constexpr std::string_view kUsernameField = "username";
inline constexpr std::string_view kPasswordField = "password";
inline constexpr std::string_view kDecisionField = "decision";

struct CodeFormView {
  std::string csrf_token;
  // Pre-fills the input, from ?user_code= of verification_uri_complete; may be any text.
  std::string prefill;
  // Shown above the form when not empty.
  std::string error;
};

// The page that asks for the user code (RFC 8628 §3.3).
std::string renderCodeForm(const CodeFormView& view);

struct SignInView {
  std::string csrf_token;
  // The canonical user code, carried in a hidden field to the next step.
  std::string user_code;
  std::string username;
  std::string error;
};

std::string renderSignInForm(const SignInView& view);

struct ConsentView {
  std::string csrf_token;
  // The canonical user code; shown as XXXX-XXXX and carried in a hidden field.
  std::string user_code;
  std::string client_id;
  std::string client_name;
  std::vector<std::string> scopes;
  // When the device made the request, as describeRequestTime returns it.
  std::string requested_at;
  std::string signed_in_as;
};

// The consent page: who asks, for what, since when, and the code to compare with the one on
// the device (RFC 8628 §5.4), with Approve and Deny buttons.
std::string renderConsent(const ConsentView& view);

enum class Decision { Approve, Deny };

// The page shown after the decision is stored, telling the person what to do next
// (RFC 8628 §3.3).
std::string renderDone(Decision decision);

// A page with a title, an alert message and a link back to the code form.
std::string renderMessage(std::string_view title, std::string_view message);

// Describes `requested` relative to `now`, for example "3 minutes ago (2027-01-15 08:00 UTC)".
std::string describeRequestTime(TimePoint requested, TimePoint now);

}  // namespace devauth::web

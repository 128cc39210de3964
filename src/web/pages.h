#pragma once

// The HTML of each verification page, separate from the handlers that choose which one to
// send. Every function escapes the values it interpolates and takes its text from the message
// catalogue (web/messages.h) in the language of `context`.

#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "web/html.h"

namespace devauth::web {

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
std::string renderCodeForm(const PageContext& context, const CodeFormView& view);

struct SignInView {
  std::string csrf_token;
  // The canonical user code, carried in a hidden field to the next step.
  std::string user_code;
  std::string username;
  std::string error;
};

std::string renderSignInForm(const PageContext& context, const SignInView& view);

struct ConsentView {
  std::string csrf_token;
  // The canonical user code; shown as XXXX-XXXX and carried in a hidden field.
  std::string user_code;
  std::string client_id;
  std::string client_name;
  std::vector<std::string> scopes;
  // When the device made the request, as describeRequestTime returns it.
  std::string requested_at;
  // The device's shortened User-Agent and the canonical address it asked from, "" when
  // unknown, and the address of the browser showing the page, to compare networks.
  std::string device_description;
  std::string request_address;
  std::string browser_address;
  // The username of the signed-in person, or the subject when no local user has it.
  std::string signed_in_as;
};

// The consent page: which client requests access, for what in plain words, from which device
// and address, since when, and the code to compare with the one on the device (RFC 8628 §5.4), with
// Approve and Deny buttons.
std::string renderConsent(const PageContext& context, const ConsentView& view);

enum class Decision { Approve, Deny };

// The page shown after the decision is stored, telling the person what to do next
// (RFC 8628 §3.3).
std::string renderDone(const PageContext& context, Decision decision);

// A page with a title, an alert message and a link back to the code form.
std::string renderMessage(const PageContext& context, std::string_view title,
                          std::string_view message);

// Describes the scope `scope` in plain words, for example "Read your data" for "read".
std::string describeScope(const Messages& messages, std::string_view scope);

// Describes `requested` relative to `now`, for example "3 minutes ago (2027-01-15 08:00 UTC)".
std::string describeRequestTime(const Messages& messages, TimePoint requested, TimePoint now);

}  // namespace devauth::web

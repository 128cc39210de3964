#include "web/pages.h"

#include <fmt/format.h>

#include <ctime>

#include "core/user_code.h"
#include "web/html.h"

namespace devauth::web {
namespace {

// Attributes that mark an input as invalid and point screen readers at the alert.
std::string invalidAttributes(const std::string& error) {
  return error.empty() ? std::string() : " aria-invalid=\"true\" aria-describedby=\"form-error\"";
}

std::string errorBlock(const std::string& error) {
  return error.empty() ? std::string() : alertParagraph(error);
}

std::string renderScopeList(const std::vector<std::string>& scopes) {
  if (scopes.empty()) {
    return "<p>No specific permissions: the application only learns that you approved.</p>\n";
  }
  // NOTE: clients register scope names only, so the page lists names without descriptions.
  std::string items;
  for (const auto& scope : scopes) {
    items += fmt::format("<li><code>{}</code></li>\n", escapeHtml(scope));
  }
  return "<ul class=\"scopes\">\n" + items + "</ul>\n";
}

std::string formatUtcMinute(TimePoint time) {
  const std::time_t seconds_since_epoch = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::system_clock::duration>(time));
  std::tm utc{};
  gmtime_r(&seconds_since_epoch, &utc);
  char text[32];
  const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &utc);
  return std::string(text, length);
}

}  // namespace

std::string renderCodeForm(const CodeFormView& view) {
  const std::string intro =
      view.prefill.empty()
          ? "<p>Enter the code shown on your device.</p>\n"
          : "<p>Check that this code matches the one shown on your device, then select "
            "Continue.</p>\n";
  const std::string form = fmt::format(
      "<form method=\"post\" action=\"/device\">\n"
      "<label for=\"user_code\">Code</label>\n"
      "<input class=\"code\" type=\"text\" id=\"user_code\" name=\"{}\" value=\"{}\" required "
      "autofocus inputmode=\"text\" autocapitalize=\"characters\" autocomplete=\"one-time-code\" "
      "spellcheck=\"false\" maxlength=\"20\" placeholder=\"XXXX-XXXX\"{}>\n"
      "{}"
      "<div class=\"actions\"><button type=\"submit\">Continue</button></div>\n"
      "</form>\n",
      kUserCodeField, escapeHtml(view.prefill), invalidAttributes(view.error),
      hiddenInput(kCsrfField, view.csrf_token));
  return renderLayout("Connect a device", intro + errorBlock(view.error) + form);
}

std::string renderSignInForm(const SignInView& view) {
  const std::string intro =
      fmt::format("<p>Sign in to continue with code <strong>{}</strong>.</p>\n",
                  escapeHtml(formatUserCode(view.user_code)));
  const std::string form = fmt::format(
      "<form method=\"post\" action=\"/device/login\">\n"
      "<label for=\"username\">Username</label>\n"
      "<input type=\"text\" id=\"username\" name=\"{}\" value=\"{}\" required autofocus "
      "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\"{}>\n"
      "<label for=\"password\">Password</label>\n"
      "<input type=\"password\" id=\"password\" name=\"{}\" required "
      "autocomplete=\"current-password\"{}>\n"
      "{}{}"
      "<div class=\"actions\"><button type=\"submit\">Sign in</button></div>\n"
      "</form>\n",
      kUsernameField, escapeHtml(view.username), invalidAttributes(view.error), kPasswordField,
      invalidAttributes(view.error), hiddenInput(kUserCodeField, view.user_code),
      hiddenInput(kCsrfField, view.csrf_token));
  return renderLayout("Sign in", intro + errorBlock(view.error) + form);
}

std::string renderConsent(const ConsentView& view) {
  const std::string summary = fmt::format(
      "<p><strong>{}</strong> wants to access your account from a device.</p>\n"
      "<p>Check that this code matches the one on your device:</p>\n"
      "<p class=\"code-display\">{}</p>\n",
      escapeHtml(view.client_name), escapeHtml(formatUserCode(view.user_code)));
  const std::string details = fmt::format(
      "<dl class=\"details\">\n"
      "<dt>Application</dt><dd>{} <span class=\"muted\">({})</span></dd>\n"
      "<dt>Requested</dt><dd>{}</dd>\n"
      "<dt>Signed in as</dt><dd>{}</dd>\n"
      "</dl>\n"
      "<h2>Permissions</h2>\n",
      escapeHtml(view.client_name), escapeHtml(view.client_id), escapeHtml(view.requested_at),
      escapeHtml(view.signed_in_as));
  const std::string form = fmt::format(
      "<p class=\"muted\">Approve only if you started this on a device you have with you. "
      "If you did not, select Deny.</p>\n"
      "<form method=\"post\" action=\"/device/decision\">\n"
      "{0}{1}"
      "<div class=\"actions\">\n"
      "<button type=\"submit\" name=\"{2}\" value=\"approve\">Approve</button>\n"
      "<button type=\"submit\" name=\"{2}\" value=\"deny\" class=\"secondary\">Deny</button>\n"
      "</div>\n"
      "</form>\n",
      hiddenInput(kUserCodeField, view.user_code), hiddenInput(kCsrfField, view.csrf_token),
      kDecisionField);
  return renderLayout("Allow access?", summary + details + renderScopeList(view.scopes) + form);
}

std::string renderDone(Decision decision) {
  if (decision == Decision::Approve) {
    return renderLayout("Device connected", "<p>Done. You can return to your device.</p>\n");
  }
  return renderLayout("Request denied", "<p>Request denied. You can close this page.</p>\n");
}

std::string renderMessage(std::string_view title, std::string_view message) {
  return renderLayout(title, alertParagraph(message) +
                                 "<p><a class=\"button\" href=\"/device\">Start over</a></p>\n");
}

std::string describeRequestTime(TimePoint requested, TimePoint now) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(now - requested).count();
  std::string relative;
  if (minutes < 1) {
    relative = "Just now";
  } else if (minutes == 1) {
    relative = "1 minute ago";
  } else {
    relative = fmt::format("{} minutes ago", minutes);
  }
  return fmt::format("{} ({})", relative, formatUtcMinute(requested));
}

}  // namespace devauth::web

#include "web/pages.h"

#include <fmt/format.h>

#include <ctime>

#include "core/user_code.h"
#include "http/request_origin.h"

namespace devauth::web {
namespace {

using M = MessageId;

// Attributes that mark an input as invalid and point screen readers at the alert.
std::string invalidAttributes(const std::string& error) {
  return error.empty() ? std::string() : " aria-invalid=\"true\" aria-describedby=\"form-error\"";
}

std::string errorBlock(const std::string& error) {
  return error.empty() ? std::string() : alertParagraph(error);
}

// Formats the catalogue message `id`, escaped, with `html_argument` (already HTML) in its {}.
std::string formatWithHtml(const Messages& messages, MessageId id,
                           const std::string& html_argument) {
  return fmt::format(fmt::runtime(escapeMarkup(messages(id))), html_argument);
}

std::string renderScopeList(const Messages& messages, const std::vector<std::string>& scopes) {
  if (scopes.empty()) {
    return fmt::format("<p>{}</p>\n", escapeMarkup(messages(M::NoScopes)));
  }
  // The plain description first and the scope's name after it, for people who know the names.
  std::string items;
  for (const auto& scope : scopes) {
    items += fmt::format("<li>{} <code>{}</code></li>\n",
                         escapeMarkup(describeScope(messages, scope)), escapeMarkup(scope));
  }
  return "<ul class=\"scopes\">\n" + items + "</ul>\n";
}

// Renders the request address with a note on whether the browser showing the page is on the
// same network. A device on another network than the phone is normal (a TV on Wi-Fi, a phone on
// mobile data), so the note states the fact and the person judges it (RFC 8628 §5.4). Without
// the browser's own address there is nothing to compare, and the note is left out.
std::string renderRequestAddress(const Messages& messages, const ConsentView& view) {
  if (view.request_address.empty()) {
    return escapeMarkup(messages(M::AddressUnknown));
  }
  if (view.browser_address.empty()) {
    return escapeMarkup(view.request_address);
  }
  const std::string note = http::sameNetwork(view.request_address, view.browser_address)
                               ? std::string(messages(M::AddressSameNetwork))
                               : messages.format(M::AddressOtherNetwork, view.browser_address);
  return fmt::format("{} <span class=\"muted\">({})</span>", escapeMarkup(view.request_address),
                     escapeMarkup(note));
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

std::string renderCodeForm(const PageContext& context, const CodeFormView& view) {
  const Messages& messages = context.messages;
  const std::string intro = fmt::format(
      "<p>{}</p>\n",
      escapeMarkup(messages(view.prefill.empty() ? M::CodeIntro : M::CodePrefilledIntro)));
  // The hint is announced with the input; with an error the alert is announced instead.
  const std::string described_by =
      view.error.empty() ? " aria-describedby=\"code-hint\"" : invalidAttributes(view.error);
  const std::string form = fmt::format(
      "<form method=\"post\" action=\"/device\">\n"
      "<label for=\"user_code\">{}</label>\n"
      "<p class=\"hint\" id=\"code-hint\">{}</p>\n"
      "<input class=\"code\" type=\"text\" id=\"user_code\" name=\"{}\" value=\"{}\" required "
      "autofocus inputmode=\"text\" autocapitalize=\"characters\" autocomplete=\"one-time-code\" "
      "spellcheck=\"false\" maxlength=\"20\" placeholder=\"XXXX-XXXX\"{}>\n"
      "{}"
      "<div class=\"actions\"><button type=\"submit\">{}</button></div>\n"
      "</form>\n",
      escapeMarkup(messages(M::CodeLabel)), escapeMarkup(messages(M::CodeHint)), kUserCodeField,
      escapeMarkup(view.prefill), described_by, hiddenInput(kCsrfField, view.csrf_token),
      escapeMarkup(messages(M::ContinueButton)));
  return renderLayout(context, messages(M::CodeTitle), intro + errorBlock(view.error) + form);
}

std::string renderSignInForm(const PageContext& context, const SignInView& view) {
  const Messages& messages = context.messages;
  const std::string intro = fmt::format(
      "<p>{}</p>\n",
      formatWithHtml(messages, M::SignInIntro,
                     "<strong>" + escapeMarkup(formatUserCode(view.user_code)) + "</strong>"));
  const std::string form = fmt::format(
      "<form method=\"post\" action=\"/device/login\">\n"
      "<label for=\"username\">{}</label>\n"
      "<input type=\"text\" id=\"username\" name=\"{}\" value=\"{}\" required autofocus "
      "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\"{}>\n"
      "<label for=\"password\">{}</label>\n"
      "<input type=\"password\" id=\"password\" name=\"{}\" required "
      "autocomplete=\"current-password\"{}>\n"
      "{}{}"
      "<div class=\"actions\"><button type=\"submit\">{}</button></div>\n"
      "</form>\n",
      escapeMarkup(messages(M::UsernameLabel)), kUsernameField, escapeMarkup(view.username),
      invalidAttributes(view.error), escapeMarkup(messages(M::PasswordLabel)), kPasswordField,
      invalidAttributes(view.error), hiddenInput(kUserCodeField, view.user_code),
      hiddenInput(kCsrfField, view.csrf_token), escapeMarkup(messages(M::SignInButton)));
  return renderLayout(context, messages(M::SignInTitle), intro + errorBlock(view.error) + form);
}

std::string renderConsent(const PageContext& context, const ConsentView& view) {
  const Messages& messages = context.messages;
  const std::string summary = fmt::format(
      "<p>{}</p>\n"
      "<p>{}</p>\n"
      "<p class=\"code-display\">{}</p>\n",
      formatWithHtml(messages, M::ConsentSummary,
                     "<strong>" + escapeMarkup(view.client_name) + "</strong>"),
      escapeMarkup(messages(M::ConsentCompare)), escapeMarkup(formatUserCode(view.user_code)));
  const std::string device = view.device_description.empty()
                                 ? std::string(messages(M::DeviceNotDescribed))
                                 : view.device_description;
  const std::string details = fmt::format(
      "<dl class=\"details\">\n"
      "<dt>{}</dt><dd>{} <span class=\"muted\">({})</span></dd>\n"
      "<dt>{}</dt><dd class=\"device\">{}</dd>\n"
      "<dt>{}</dt><dd class=\"address\">{}</dd>\n"
      "<dt>{}</dt><dd>{}</dd>\n"
      "<dt>{}</dt><dd class=\"account\">{}</dd>\n"
      "</dl>\n"
      "<h2>{}</h2>\n",
      escapeMarkup(messages(M::DetailApplication)), escapeMarkup(view.client_name),
      escapeMarkup(view.client_id), escapeMarkup(messages(M::DetailDevice)), escapeMarkup(device),
      escapeMarkup(messages(M::DetailRequestedFrom)), renderRequestAddress(messages, view),
      escapeMarkup(messages(M::DetailRequested)), escapeMarkup(view.requested_at),
      escapeMarkup(messages(M::DetailSignedInAs)), escapeMarkup(view.signed_in_as),
      escapeMarkup(messages(M::PermissionsHeading)));
  const std::string form = fmt::format(
      "<p class=\"muted\">{3}</p>\n"
      "<form method=\"post\" action=\"/device/decision\">\n"
      "{0}{1}"
      "<div class=\"actions\">\n"
      "<button type=\"submit\" name=\"{2}\" value=\"approve\">{4}</button>\n"
      "<button type=\"submit\" name=\"{2}\" value=\"deny\" class=\"secondary\">{5}</button>\n"
      "</div>\n"
      "</form>\n",
      hiddenInput(kUserCodeField, view.user_code), hiddenInput(kCsrfField, view.csrf_token),
      kDecisionField, escapeMarkup(messages(M::ConsentWarning)),
      escapeMarkup(messages(M::ApproveButton)), escapeMarkup(messages(M::DenyButton)));
  return renderLayout(context, messages(M::ConsentTitle),
                      summary + details + renderScopeList(messages, view.scopes) + form);
}

std::string renderDone(const PageContext& context, Decision decision) {
  const Messages& messages = context.messages;
  const bool approved = decision == Decision::Approve;
  const std::string content =
      fmt::format("<p class=\"{}\" role=\"status\">{}</p>\n", approved ? "success" : "notice",
                  escapeMarkup(messages(approved ? M::ApprovedText : M::DeniedText)));
  return renderLayout(context, messages(approved ? M::ApprovedTitle : M::DeniedTitle), content);
}

std::string renderMessage(const PageContext& context, std::string_view title,
                          std::string_view message) {
  return renderLayout(
      context, title,
      alertParagraph(message) + fmt::format("<p><a class=\"button\" href=\"/device\">{}</a></p>\n",
                                            escapeMarkup(context.messages(M::StartOver))));
}

std::string describeScope(const Messages& messages, std::string_view scope) {
  struct Known {
    std::string_view scope;
    MessageId description;
  };
  static constexpr Known kKnownScopes[] = {
      {"openid", M::ScopeOpenid}, {"profile", M::ScopeProfile},
      {"email", M::ScopeEmail},   {"offline_access", M::ScopeOfflineAccess},
      {"read", M::ScopeRead},     {"write", M::ScopeWrite},
  };
  for (const Known& known : kKnownScopes) {
    if (known.scope == scope) {
      return std::string(messages(known.description));
    }
  }
  return messages.format(M::ScopeOther, scope);
}

std::string describeRequestTime(const Messages& messages, TimePoint requested, TimePoint now) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(now - requested).count();
  std::string relative;
  if (minutes < 1) {
    relative = messages(M::TimeJustNow);
  } else if (minutes == 1) {
    relative = messages(M::TimeOneMinuteAgo);
  } else {
    relative = messages.format(M::TimeMinutesAgo, minutes);
  }
  return fmt::format("{} ({})", relative, formatUtcMinute(requested));
}

}  // namespace devauth::web

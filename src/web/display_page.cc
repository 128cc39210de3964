#include "web/display_page.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <string>

#include "core/device_code.h"
#include "http/form.h"
#include "http/response.h"
#include "oauth/endpoints.h"
#include "web/page_context.h"
#include "web/qr_svg.h"
#include "web/session.h"

namespace devauth::web {
namespace {

using M = MessageId;

enum class DisplayState { Pending, Approved, Denied, Expired };

// A flow the display page started: what it shows and what it polls with.
struct DisplayFlow {
  std::string device_code;
  // Formatted as XXXX-XXXX.
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;
  DisplayState state = DisplayState::Pending;
  seconds remaining{0};
  seconds interval{0};
};

// The cookie value is "<device code>.<user code>". Device codes are base64url, so they contain
// no '.'.
std::string displayCookie(const Config& config, const DisplayFlow& flow) {
  std::string cookie = fmt::format(
      "{}={}.{}; Path=/device/display; Max-Age={}; HttpOnly; "
      "SameSite=Strict",
      kDisplayCookieName, flow.device_code, flow.user_code, flow.remaining.count());
  if (isHttpsIssuer(config.issuer)) {
    cookie += "; Secure";
  }
  return cookie;
}

struct CookieCodes {
  std::string device_code;
  std::string user_code;
};

std::optional<CookieCodes> readDisplayCookie(const http::Request& request) {
  for (const std::string& value : findCookieValues(request, kDisplayCookieName)) {
    const std::size_t dot = value.find('.');
    if (dot != std::string::npos && dot > 0 && dot + 1 < value.size()) {
      return CookieCodes{value.substr(0, dot), value.substr(dot + 1)};
    }
  }
  return std::nullopt;
}

// Redeemed and denied are final and shown as they are; an approval that was not redeemed
// before expiry is as lost as a pending code.
DisplayState stateOf(const Authorization& authorization, TimePoint now) {
  if (authorization.state == AuthorizationState::Redeemed) {
    return DisplayState::Approved;
  }
  if (authorization.state == AuthorizationState::Denied) {
    return DisplayState::Denied;
  }
  if (authorization.isExpired(now)) {
    return DisplayState::Expired;
  }
  return authorization.state == AuthorizationState::Approved ? DisplayState::Approved
                                                             : DisplayState::Pending;
}

// The flow named by the display cookie, or nullopt when there is none or it was purged. A
// cookie from another client's flow is ignored.
StoreResult<std::optional<DisplayFlow>> resumeFlow(Services& services,
                                                   const http::Request& request) {
  const auto codes = readDisplayCookie(request);
  if (!codes) {
    return std::optional<DisplayFlow>();
  }
  auto found = services.store.findByDeviceCode(deviceCodeKey(codes->device_code));
  if (!found) {
    return unexpected(found.error());
  }
  if (!found->has_value() || (*found)->client_id != services.config.display_client) {
    return std::optional<DisplayFlow>();
  }

  const Authorization& authorization = **found;
  const TimePoint now = services.clock.now();
  DisplayFlow flow;
  flow.device_code = codes->device_code;
  flow.user_code = codes->user_code;
  flow.verification_uri = services.config.issuer + "/device";
  flow.verification_uri_complete = flow.verification_uri + "?user_code=" + flow.user_code;
  flow.state = stateOf(authorization, now);
  flow.remaining =
      std::max(seconds(0), std::chrono::duration_cast<seconds>(authorization.expires_at - now));
  flow.interval = authorization.interval;
  return std::optional<DisplayFlow>(std::move(flow));
}

std::string formatRemaining(seconds remaining) {
  return fmt::format("{}:{:02}", remaining.count() / 60, remaining.count() % 60);
}

// One section per final state. The script shows the one it reaches; the server shows the one
// the flow is in when the page is loaded after it ended.
std::string renderStateSection(const Messages& messages, std::string_view name, bool shown,
                               MessageId title, MessageId text, bool start_again) {
  const std::string link =
      start_again ? fmt::format("<p><a class=\"button\" href=\"/device/display?new=1\">{}</a></p>",
                                escapeMarkup(messages(M::DisplayStartAgain)))
                  : std::string();
  return fmt::format(
      "<section class=\"display-state {0}\" data-state=\"{0}\"{1}>\n"
      "<h2>{2}</h2>\n<p>{3}</p>\n{4}\n</section>\n",
      name, shown ? "" : " hidden", escapeMarkup(messages(title)), escapeMarkup(messages(text)),
      link);
}

std::string renderPendingSection(const Messages& messages, const DisplayFlow& flow,
                                 const std::string& qr_svg) {
  const std::string instructions =
      fmt::format(fmt::runtime(escapeMarkup(messages(M::DisplayInstructions))),
                  "<strong class=\"uri\">" + escapeMarkup(flow.verification_uri) + "</strong>");
  const std::string expires =
      fmt::format(fmt::runtime(escapeMarkup(messages(M::DisplayExpiresIn))),
                  "<span data-countdown>" + formatRemaining(flow.remaining) + "</span>");
  return fmt::format(
      "<section class=\"display-grid\" data-state=\"pending\"{0}>\n"
      "<div class=\"qr-box\">{1}</div>\n"
      "<div class=\"display-text\">\n"
      "<p>{2}</p>\n"
      "<p class=\"code-display display-code\">{3}</p>\n"
      "<p>{4}</p>\n"
      "<p class=\"status\" role=\"status\" data-status>{5}</p>\n"
      "<noscript><p class=\"muted\">{6}</p></noscript>\n"
      "<p data-without-script><a href=\"/device/display\">{7}</a></p>\n"
      "</div>\n"
      "</section>\n",
      flow.state == DisplayState::Pending ? "" : " hidden", qr_svg, instructions,
      escapeMarkup(flow.user_code), expires, escapeMarkup(messages(M::DisplayWaiting)),
      escapeMarkup(messages(M::DisplayRefreshNote)), escapeMarkup(messages(M::DisplayCheckNow)));
}

std::string renderDisplay(const PageContext& context, const DisplayFlow& flow,
                          const std::string& client_id, const std::string& qr_svg) {
  const Messages& messages = context.messages;
  const DisplayState state = flow.state;
  std::string content = renderPendingSection(messages, flow, qr_svg);
  content += renderStateSection(messages, "approved", state == DisplayState::Approved,
                                M::DisplayApprovedTitle, M::DisplayApprovedText, false);
  content += renderStateSection(messages, "denied", state == DisplayState::Denied,
                                M::DisplayDeniedTitle, M::DisplayDeniedText, true);
  content += renderStateSection(messages, "expired", state == DisplayState::Expired,
                                M::DisplayExpiredTitle, M::DisplayExpiredText, true);
  content += fmt::format("<p class=\"error\" data-connection-lost hidden>{}</p>\n",
                         escapeMarkup(messages(M::DisplayConnectionLost)));
  // Sections that turn visible are not announced reliably, so the script also writes the new
  // state into this live region.
  content += "<p class=\"visually-hidden\" aria-live=\"polite\" data-announce></p>\n";

  LayoutOptions options;
  options.page_name = "display";
  if (state == DisplayState::Pending) {
    // Without script, the page reloads itself and the server reports the state from the cookie.
    options.head =
        fmt::format("<noscript><meta http-equiv=\"refresh\" content=\"{}\"></noscript>\n",
                    flow.interval.count());
    options.main_attributes = fmt::format(
        " class=\"display\" data-device-code=\"{}\" data-client-id=\"{}\" data-interval=\"{}\" "
        "data-expires-in=\"{}\"",
        escapeMarkup(flow.device_code), escapeMarkup(client_id), flow.interval.count(),
        flow.remaining.count());
  } else {
    options.main_attributes = " class=\"display\"";
  }
  return renderLayout(context, messages(M::DisplayTitle), content, options);
}

http::Response unavailablePage(const http::Request& request, const PageContext& context,
                               unsigned status) {
  const Messages& messages = context.messages;
  std::string body = renderLayout(context, messages(M::DisplayUnavailableTitle),
                                  alertParagraph(messages(M::DisplayUnavailable)) +
                                      fmt::format("<p><a class=\"button\" href=\"/device/display\">"
                                                  "{}</a></p>\n",
                                                  escapeMarkup(messages(M::DisplayStartAgain))));
  return pageResponse(request, context, status, std::move(body));
}

// Starts a new flow for the display client. On failure returns the page to send instead.
Expected<DisplayFlow, http::Response> startFlow(Services& services, const http::Request& request,
                                                const PageContext& context) {
  auto started = oauth::beginDeviceAuthorization(services, request, services.config.display_client);
  if (!started) {
    const oauth::EndpointError& error = started.error();
    spdlog::warn("event=display_start_failed client_id={} error={} request_id={}",
                 services.config.display_client, describe(error.error.code).wire_name,
                 request.request_id);
    http::Response page = unavailablePage(request, context, error.retry_after ? 429 : 503);
    if (error.retry_after) {
      page.set(http::beast_http::field::retry_after, std::to_string(error.retry_after->count()));
    }
    return unexpected(std::move(page));
  }

  DisplayFlow flow;
  flow.device_code = started->device_code;
  flow.user_code = started->user_code;
  flow.verification_uri = started->verification_uri;
  flow.verification_uri_complete = started->verification_uri_complete;
  flow.remaining = started->expires_in;
  flow.interval = started->interval;
  return flow;
}

bool wantsNewFlow(const http::Request& request) {
  auto query = http::parseForm(request.query());
  return query && query->has("new");
}

}  // namespace

http::Response handleDisplayPage(Services& services, const http::Request& request) {
  if (services.config.display_client.empty()) {
    return http::textResponse(request, 404, "Not Found\n");
  }
  const PageContext context = makePageContext(services, request);

  std::optional<DisplayFlow> flow;
  if (!wantsNewFlow(request)) {
    auto resumed = resumeFlow(services, request);
    if (!resumed) {
      spdlog::warn("event=store_failed endpoint={} request_id={} error=\"{}\"", request.path(),
                   request.request_id, resumed.error().message);
      return unavailablePage(request, context, 503);
    }
    flow = std::move(*resumed);
  }
  const bool started = !flow.has_value();
  if (started) {
    auto created = startFlow(services, request, context);
    if (!created) {
      return created.error();
    }
    flow = std::move(*created);
  }

  const auto qr_svg =
      renderQrSvg(flow->verification_uri_complete, context.messages(M::DisplayQrLabel));
  http::Response response =
      pageResponse(request, context, 200,
                   renderDisplay(context, *flow, services.config.display_client,
                                 qr_svg.value_or(std::string())));
  if (started) {
    response.set(http::beast_http::field::set_cookie, displayCookie(services.config, *flow));
  }
  return response;
}

}  // namespace devauth::web

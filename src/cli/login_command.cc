// `devauth login`: the device side of the flow (RFC 8628 §3.1-3.5). Starts an authorization,
// shows the person where to approve it, polls for the token and prints the token response.

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <cctype>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/terminal_qr.h"
#include "core/client.h"
#include "core/user_code_profile.h"

namespace devauth::cli {
namespace {

namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

struct LoginOptions {
  std::string server;
  std::string client_id;
  std::string scope;
  std::string client_secret_file;
  bool no_qr = false;
  bool speak = false;
  long timeout = 30;
};

// The device authorization response (RFC 8628 §3.2).
struct DeviceAuthorization {
  std::string device_code;
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;
  // The devauth_user_code_spoken extension member; empty when the server sends none.
  std::string user_code_spoken;
  seconds expires_in{0};
  seconds interval{5};
};

// An error response (RFC 6749 §5.2). Both fields are empty when the body is not one.
struct ErrorReply {
  std::string error;
  std::string description;
};

// The endpoints and credentials derived from the options.
struct LoginContext {
  LoginOptions options;
  boost::urls::url begin_url;
  boost::urls::url token_url;
  // The RFC 8414 metadata of the server.
  boost::urls::url metadata_url;
  // The wait sent as Prefer: wait on polls (RFC 7240 §4.3): the server's advertised
  // devauth_device_poll_max_wait, or 0 when it advertises none.
  seconds poll_wait{0};
  // The Authorization header value for a confidential client, else empty.
  std::string authorization;
  // Whether stderr is a terminal, which allows colours and a status line updated in place.
  bool terminal = false;
};

// RFC 8628 §3.5: each slow_down adds 5 seconds to the interval.
inline constexpr seconds kSlowDownStep{5};
// The back-off after failed polls doubles the interval up to this bound.
inline constexpr seconds kMaxBackoffInterval{60};
// Without a terminal, the time left is printed this often.
inline constexpr seconds kStatusPeriod{30};
// The longest Prefer: wait sent, whatever the server advertises.
inline constexpr seconds kMaxPollWait{300};

Expected<boost::urls::url, std::string> endpointUrl(const std::string& server,
                                                    std::string_view path) {
  auto parsed = boost::urls::parse_uri(server);
  if (!parsed ||
      (parsed->scheme_id() != boost::urls::scheme::http &&
       parsed->scheme_id() != boost::urls::scheme::https) ||
      parsed->encoded_host().empty()) {
    return unexpected("invalid --server URL '" + server +
                      "': use an absolute http:// or https:// URL such as http://127.0.0.1:8080");
  }
  boost::urls::url url(*parsed);
  std::string base_path(url.encoded_path());
  while (base_path.ends_with('/')) {
    base_path.pop_back();
  }
  url.set_encoded_path(base_path + std::string(path));
  url.remove_query();
  url.remove_fragment();
  return url;
}

Expected<std::string, std::string> readClientSecret(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return unexpected("cannot read the client secret file '" + path + "'");
  }
  std::string secret;
  std::getline(file, secret);
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  if (secret.empty()) {
    return unexpected("the client secret file '" + path + "' is empty");
  }
  return secret;
}

Expected<LoginContext, std::string> makeContext(const LoginOptions& options) {
  LoginContext context;
  context.options = options;
  context.terminal = ::isatty(STDERR_FILENO) == 1;

  auto begin_url = endpointUrl(options.server, "/oauth/device/begin");
  if (!begin_url) {
    return unexpected(begin_url.error());
  }
  context.begin_url = begin_url.value();
  context.token_url = endpointUrl(options.server, "/oauth/device/token").value();
  // RFC 8414 §3.1: the well-known path goes between the host and the server's path.
  context.metadata_url = endpointUrl(options.server, "").value();
  context.metadata_url.set_encoded_path("/.well-known/oauth-authorization-server" +
                                        std::string(context.metadata_url.encoded_path()));

  if (!options.client_secret_file.empty()) {
    auto secret = readClientSecret(options.client_secret_file);
    if (!secret) {
      return unexpected(secret.error());
    }
    context.authorization = basicAuthorization(options.client_id, secret.value());
  }
  return context;
}

// Sends the client's identity: Basic credentials for a confidential client, else client_id in
// the body (RFC 8628 §3.1 and §3.4).
Expected<HttpReply, std::string> post(const LoginContext& context, const boost::urls::url& url,
                                      FormFields fields) {
  if (context.authorization.empty()) {
    fields.emplace_back("client_id", context.options.client_id);
  }
  return postForm(url, encodeForm(fields), context.authorization, seconds(context.options.timeout));
}

// Polls with Prefer: wait for the server's advertised maximum, so that the token arrives as soon
// as the person approves. Without metadata, or without the member, polls are plain.
seconds discoverPollWait(const LoginContext& context);

// Sends a token request: with Prefer: wait and a read timeout above the wait when the server
// holds polls.
Expected<HttpReply, std::string> postPoll(const LoginContext& context, FormFields fields) {
  if (context.poll_wait.count() == 0) {
    return post(context, context.token_url, std::move(fields));
  }
  if (context.authorization.empty()) {
    fields.emplace_back("client_id", context.options.client_id);
  }
  RequestOptions options;
  options.authorization = context.authorization;
  options.prefer = "wait=" + std::to_string(context.poll_wait.count());
  options.extra_read_time = context.poll_wait;
  return postForm(context.token_url, encodeForm(fields), seconds(context.options.timeout), options);
}

std::optional<json::object> parseObject(const std::string& body) {
  json::error_code error;
  json::value value = json::parse(body, error);
  if (error || !value.is_object()) {
    return std::nullopt;
  }
  return value.as_object();
}

std::string stringMember(const json::object& object, std::string_view name) {
  const json::value* member = object.if_contains(name);
  return member != nullptr && member->is_string() ? std::string(member->as_string()) : "";
}

std::optional<std::int64_t> integerMember(const json::object& object, std::string_view name) {
  const json::value* member = object.if_contains(name);
  if (member == nullptr || !member->is_int64()) {
    return std::nullopt;
  }
  return member->as_int64();
}

ErrorReply parseErrorReply(const HttpReply& reply) {
  auto object = parseObject(reply.body);
  if (!object) {
    return {};
  }
  return {stringMember(*object, "error"), stringMember(*object, "error_description")};
}

std::string describeErrorReply(const HttpReply& reply) {
  const ErrorReply error = parseErrorReply(reply);
  if (error.error.empty()) {
    return "HTTP " + std::to_string(reply.status) + " without an OAuth error";
  }
  std::string text = "HTTP " + std::to_string(reply.status) + " " + error.error;
  if (!error.description.empty()) {
    text += ": " + error.description;
  }
  return text;
}

Expected<DeviceAuthorization, std::string> parseDeviceAuthorization(const HttpReply& reply) {
  auto object = parseObject(reply.body);
  if (!object) {
    return unexpected(std::string("the response is not a JSON object"));
  }
  DeviceAuthorization authorization;
  authorization.device_code = stringMember(*object, "device_code");
  authorization.user_code = stringMember(*object, "user_code");
  authorization.verification_uri = stringMember(*object, "verification_uri");
  authorization.verification_uri_complete = stringMember(*object, "verification_uri_complete");
  authorization.user_code_spoken = stringMember(*object, "devauth_user_code_spoken");
  auto expires_in = integerMember(*object, "expires_in");
  auto interval = integerMember(*object, "interval");
  if (authorization.device_code.empty() || authorization.user_code.empty() ||
      authorization.verification_uri.empty() || !expires_in || *expires_in <= 0) {
    return unexpected(std::string(
        "the response lacks device_code, user_code, verification_uri or a positive expires_in"));
  }
  authorization.expires_in = seconds(*expires_in);
  // RFC 8628 §3.2: without interval the client waits 5 seconds between polls.
  if (interval && *interval > 0) {
    authorization.interval = seconds(*interval);
  }
  return authorization;
}

Expected<DeviceAuthorization, std::string> beginAuthorization(const LoginContext& context) {
  FormFields fields;
  if (!context.options.scope.empty()) {
    fields.emplace_back("scope", context.options.scope);
  }
  auto reply = post(context, context.begin_url, fields);
  if (!reply) {
    return unexpected("the device authorization request to " +
                      std::string(context.begin_url.buffer()) + " failed: " + reply.error());
  }
  if (reply->status != 200) {
    return unexpected("the server rejected the device authorization request: " +
                      describeErrorReply(reply.value()));
  }
  auto authorization = parseDeviceAuthorization(reply.value());
  if (!authorization) {
    return unexpected("invalid device authorization response: " + authorization.error());
  }
  return authorization;
}

void showInstructions(const LoginContext& context, const DeviceAuthorization& authorization) {
  const char* bold = context.terminal ? "\x1b[1m" : "";
  const char* plain = context.terminal ? "\x1b[0m" : "";
  const std::string frame(authorization.user_code.size() + 4, '-');
  std::cerr << "\nTo sign in, open this page on your phone or computer:\n\n"
            << "    " << bold << authorization.verification_uri << plain << "\n\n"
            << "and enter the code:\n\n"
            << "    +" << frame << "+\n"
            << "    |  " << bold << authorization.user_code << plain << "  |\n"
            << "    +" << frame << "+\n\n";
  if (context.options.speak) {
    // Servers without the extension member get the same words spelt out here.
    const std::string spoken = authorization.user_code_spoken.empty()
                                   ? spokenUserCode(authorization.user_code)
                                   : authorization.user_code_spoken;
    std::cerr << "Read aloud: " << spoken << "\n\n";
  }

  if (context.options.no_qr || authorization.verification_uri_complete.empty()) {
    return;
  }
  auto qr = renderQrCode(authorization.verification_uri_complete,
                         context.terminal ? QrColors::Ansi : QrColors::Plain);
  if (qr) {
    std::cerr << "Or scan this QR code, which contains the code:\n\n" << *qr << "\n";
  }
}

std::string formatDuration(seconds duration) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(duration);
  std::ostringstream out;
  out << minutes.count() << ":" << std::setw(2) << std::setfill('0')
      << (duration - minutes).count();
  return out.str();
}

// Sleeps until `until` and shows the time left before `deadline`. On a terminal the status line
// is rewritten every second, and otherwise a line is printed every kStatusPeriod.
void waitShowingTimeLeft(const LoginContext& context, SteadyClock::time_point until,
                         SteadyClock::time_point deadline, SteadyClock::time_point& last_status) {
  while (SteadyClock::now() < until) {
    const auto now = SteadyClock::now();
    const auto left = std::chrono::ceil<seconds>(std::max(deadline - now, SteadyClock::duration{}));
    if (context.terminal) {
      std::cerr << "\r\x1b[2KWaiting for approval; the code expires in " << formatDuration(left)
                << std::flush;
    } else if (now - last_status >= kStatusPeriod) {
      std::cerr << "Waiting for approval; the code expires in " << formatDuration(left)
                << " (min:s).\n";
      last_status = now;
    }
    std::this_thread::sleep_until(std::min(until, now + seconds(1)));
  }
}

// Ends the status line so that the next message starts on a new line.
void endStatusLine(const LoginContext& context) {
  if (context.terminal) {
    std::cerr << "\r\x1b[2K" << std::flush;
  }
}

// Handles a 200 response: prints the token response as one line of JSON on stdout.
int finishWithToken(const HttpReply& reply) {
  auto object = parseObject(reply.body);
  if (!object || stringMember(*object, "access_token").empty() ||
      stringMember(*object, "token_type").empty()) {
    std::cerr << "devauth login: the token response lacks access_token or token_type\n";
    return kExitFailure;
  }
  std::cout << json::serialize(*object) << std::endl;
  std::cerr << "Approved.\n";
  return kExitOk;
}

seconds discoverPollWait(const LoginContext& context) {
  auto reply = getUrl(context.metadata_url, seconds(context.options.timeout));
  if (!reply || reply->status != 200) {
    return seconds{0};
  }
  const auto object = parseObject(reply->body);
  if (!object) {
    return seconds{0};
  }
  const auto wait = integerMember(*object, "devauth_device_poll_max_wait");
  if (!wait || *wait <= 0) {
    return seconds{0};
  }
  return std::min(seconds{*wait}, kMaxPollWait);
}

int pollForToken(const LoginContext& context, const DeviceAuthorization& authorization) {
  const auto start = SteadyClock::now();
  const auto deadline = start + authorization.expires_in;
  // Without a terminal, the first status line is printed at once.
  auto last_status = start - kStatusPeriod;
  seconds interval = authorization.interval;
  const FormFields fields = {{"grant_type", std::string(kDeviceCodeGrantType)},
                             {"device_code", authorization.device_code}};

  // After a held poll the interval counts from the start of that poll, because the server
  // recorded the poll when the hold began (RFC 8628 §3.5).
  std::optional<SteadyClock::time_point> held_poll_started;

  while (true) {
    const auto next_poll =
        held_poll_started ? *held_poll_started + interval : SteadyClock::now() + interval;
    waitShowingTimeLeft(context, next_poll, deadline, last_status);
    if (SteadyClock::now() >= deadline) {
      endStatusLine(context);
      std::cerr << "devauth login: the code expired before it was approved; run login again\n";
      return kExitExpired;
    }

    const auto poll_started = SteadyClock::now();
    auto reply = postPoll(context, fields);
    held_poll_started.reset();
    if (!reply) {
      // RFC 8628 §3.5: on a connection timeout the client must reduce its polling frequency,
      // and doubling the interval is the recommended way.
      interval = std::min(interval * 2, kMaxBackoffInterval);
      endStatusLine(context);
      std::cerr << "devauth login: polling failed (" << reply.error() << "), retrying in "
                << interval.count() << " s\n";
      continue;
    }
    if (reply->status == 200) {
      endStatusLine(context);
      return finishWithToken(reply.value());
    }

    const ErrorReply error = parseErrorReply(reply.value());
    if (error.error == "authorization_pending") {
      if (!reply->preference_applied.empty()) {
        held_poll_started = poll_started;
      }
      continue;
    }
    if (error.error == "slow_down") {
      interval += kSlowDownStep;
      continue;
    }
    // RFC 8628 §3.5: any other error code stops the polling. A 5xx without an error code comes
    // from a proxy or a restarting server, and temporarily_unavailable or server_error from a
    // busy store. These are transient, so they are treated like a connection failure.
    const bool transient = error.error.empty() || error.error == "temporarily_unavailable" ||
                           error.error == "server_error";
    if (transient && reply->status >= 500) {
      interval = std::min(interval * 2, kMaxBackoffInterval);
      endStatusLine(context);
      std::cerr << "devauth login: polling failed (HTTP " << reply->status << "), retrying in "
                << interval.count() << " s\n";
      continue;
    }

    endStatusLine(context);
    if (error.error == "access_denied") {
      std::cerr << "devauth login: the request was denied\n";
      return kExitDenied;
    }
    if (error.error == "expired_token") {
      std::cerr << "devauth login: the code expired before it was approved; run login again\n";
      return kExitExpired;
    }
    std::cerr << "devauth login: the token request failed: " << describeErrorReply(reply.value())
              << "\n";
    return kExitFailure;
  }
}

int runLogin(const LoginOptions& options) {
  auto context = makeContext(options);
  if (!context) {
    std::cerr << "devauth login: " << context.error() << "\n";
    return kExitFailure;
  }
  auto authorization = beginAuthorization(context.value());
  if (!authorization) {
    std::cerr << "devauth login: " << authorization.error() << "\n";
    return kExitFailure;
  }
  showInstructions(context.value(), authorization.value());
  context->poll_wait = discoverPollWait(context.value());
  return pollForToken(context.value(), authorization.value());
}

}  // namespace

void addLoginCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<LoginOptions>();
  CLI::App* login = app.add_subcommand(
      "login", "Act as a device: get a token through the device flow and print it as JSON");
  login->footer(
      "Prints the token response as one line of JSON on stdout. Exit status: 0 approved, 1 "
      "error, 2 denied (access_denied), 3 expired (expired_token).");
  login
      ->add_option("--server", options->server,
                   "Base URL of the devauth server, for example http://127.0.0.1:8080")
      ->required();
  login->add_option("--client-id", options->client_id, "Client id to send as client_id")
      ->required();
  login->add_option("--scope", options->scope,
                    "Space-separated scopes to request (default: the client's default scopes)");
  login
      ->add_option("--client-secret-file", options->client_secret_file,
                   "File whose first line is the client secret of a confidential client")
      ->check(CLI::ExistingFile);
  login->add_flag("--no-qr", options->no_qr, "Do not draw the QR code");
  login->add_flag("--speak", options->speak,
                  "Also print the code as it is read aloud: letters in the ICAO spelling "
                  "alphabet, digits one by one");
  login
      ->add_option("--timeout", options->timeout,
                   "Time allowed for each network step of a request, in seconds")
      ->capture_default_str()
      ->check(CLI::Range(1L, 300L));
  login->callback([options, &exit_code] { exit_code = runLogin(*options); });
}

}  // namespace devauth::cli

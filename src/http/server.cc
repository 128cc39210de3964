#include "http/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/algorithm/hex.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "core/random.h"
#include "http/deferred.h"
#include "http/handler_pool.h"
#include "http/response.h"

namespace devauth::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using RequestParser = beast_http::request_parser<beast_http::string_body>;

// After an error response the server reads and discards what the client still sends, for at
// most this long and this many bytes, before it closes. Closing with unread data makes the
// kernel send a TCP reset, and the client may then lose the error response.
constexpr std::chrono::seconds kDrainTimeout{2};
constexpr std::size_t kMaxDrainBytes = std::size_t{1024} * 1024;
constexpr std::size_t kReadChunkBytes = 4096;
// The shortest sleep of a session's deadline timer. A zero timeout would otherwise make the
// timer wake again at once until its deadline.
constexpr std::chrono::seconds kMinDeadlineStep{1};
// Delay before accepting again after a failed accept (for example EMFILE), so that a
// persistent failure does not spin a thread.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

// The read buffer holds one header section, chunk header or trailer line at a time: the
// parser moves body bytes out of it as they arrive. Without a cap, one chunk extension or
// trailer line without its CRLF could grow the buffer until read_timeout.
std::size_t readBufferLimit(const ServerOptions& options) {
  return 2 * options.max_header_bytes + kReadChunkBytes;
}

// RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host field, and no request has two.
bool hasValidHost(const RawRequest& message) {
  const std::size_t count = message.count(beast_http::field::host);
  return message.version() >= 11 ? count == 1 : count <= 1;
}

// Returns 64 random bits from the CSPRNG as 16 lower-case hex digits. Each thread draws the bits
// of 64 ids at once, because one CSPRNG call (a getrandom system call) per request cost more
// than the rest of the id.
std::string newRequestId() {
  constexpr std::size_t kIdBytes = 8;
  thread_local std::array<std::uint8_t, 64 * kIdBytes> pool{};
  thread_local std::size_t used = pool.size();
  if (used == pool.size()) {
    CsprngRandom().fill(pool);
    used = 0;
  }
  const auto first = pool.begin() + static_cast<std::ptrdiff_t>(used);
  used += kIdBytes;
  std::string id;
  id.reserve(2 * kIdBytes);
  boost::algorithm::hex_lower(first, first + kIdBytes, std::back_inserter(id));
  return id;
}

// Appends the status line, the header fields and the body of `response` to `wire`, in the
// bytes Beast's serializer writes for a response with Content-Length (RFC 9112 §4, §5).
// Beast's serializer walks a view with one buffer per field, and callgrind counted about 17,000
// more instructions per token poll response with it than with one contiguous buffer.
void serializeResponse(const Response& response, std::string& wire) {
  const unsigned version = response.version();
  const unsigned status = response.result_int();
  const std::string_view reason = response.reason();
  std::size_t size = 17 + reason.size() + response.body().size();
  for (const auto& field : response) {
    size += field.name_string().size() + field.value().size() + 4;
  }
  wire.reserve(size);
  // The status line is appended piece by piece, because fmt::format_to through a back_inserter
  // took about 1,400 more instructions per response under callgrind.
  const auto digit = [](unsigned value) { return static_cast<char>('0' + value % 10); };
  // The literals are appended as string_views, which spares a strlen for each.
  using namespace std::string_view_literals;
  wire.append("HTTP/"sv);
  wire.push_back(digit(version / 10));
  wire.push_back('.');
  wire.push_back(digit(version));
  wire.push_back(' ');
  wire.push_back(digit(status / 100));
  wire.push_back(digit(status / 10));
  wire.push_back(digit(status));
  wire.push_back(' ');
  wire.append(reason);
  wire.append("\r\n"sv);
  for (const auto& field : response) {
    wire.append(field.name_string());
    wire.append(": "sv);
    wire.append(field.value());
    wire.append("\r\n"sv);
  }
  wire.append("\r\n"sv);
  wire.append(response.body());
}

// The id of a request: the client's X-Request-Id when it is 1 to 64 characters of letters,
// digits, '.', '_' and '-' (so that a log line cannot be forged through it), else a new one.
std::string requestIdFor(const RawRequest& message) {
  const auto field = message.find("X-Request-Id");
  if (field != message.end()) {
    const std::string_view value = field->value();
    const bool well_formed =
        !value.empty() && value.size() <= 64 && std::all_of(value.begin(), value.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                 c == '-';
        });
    if (well_formed) {
      return std::string(value);
    }
  }
  return newRequestId();
}

class Session;

// The Deferral and HeldResponse of one request. The response that complete() hands in is kept
// here until the session takes it on its I/O thread, so a completion that comes before the session
// entered the hold is not lost.
class SessionDeferral final : public Deferral,
                              public HeldResponse,
                              public std::enable_shared_from_this<SessionDeferral> {
 public:
  SessionDeferral(std::weak_ptr<Session> session, asio::any_io_executor executor,
                  HandlerPool* handler_pool)
      : session_(std::move(session)), executor_(std::move(executor)), handler_pool_(handler_pool) {}

  std::shared_ptr<HeldResponse> hold(std::chrono::steady_clock::duration max_wait,
                                     HoldCallbacks callbacks) override {
    max_wait_ = max_wait;
    callbacks_ = std::move(callbacks);
    held_ = true;
    return shared_from_this();
  }

  bool held() const override { return held_; }

  void onHeldResponseSent(std::function<void(const Response&)> observer) override {
    sent_observer_ = std::move(observer);
  }

  void complete(Response response) override;

  void post(std::function<void()> job) override {
    if (handler_pool_ != nullptr) {
      handler_pool_->post(std::move(job));
    } else {
      asio::post(executor_, std::move(job));
    }
  }

  // The completed response, once; empty before complete() and after the first take.
  std::optional<Response> takeResponse() {
    std::lock_guard lock(mutex_);
    auto taken = std::move(response_);
    response_.reset();
    return taken;
  }

  bool hasResponse() {
    std::lock_guard lock(mutex_);
    return response_.has_value();
  }

  // The following run on the session's I/O thread only.
  std::chrono::steady_clock::duration maxWait() const { return max_wait_; }

  // Runs on_end once, unless the hold already ended.
  void end(HoldEnd reason) {
    if (!ended_ && callbacks_.on_end) {
      ended_ = true;
      auto on_end = callbacks_.on_end;
      on_end(reason);
    }
  }

  void abandon() {
    auto on_abandoned = std::move(callbacks_.on_abandoned);
    release();
    if (on_abandoned) {
      on_abandoned();
    }
  }

  void notifySent(const Response& response) {
    if (sent_observer_) {
      sent_observer_(response);
    }
  }

  // Drops the callbacks, which may hold the owner's state and through it this object.
  void release() {
    callbacks_ = {};
    sent_observer_ = nullptr;
  }

 private:
  std::weak_ptr<Session> session_;
  // The executor of the session's I/O thread.
  asio::any_io_executor executor_;
  HandlerPool* handler_pool_;

  std::mutex mutex_;
  std::optional<Response> response_;  // guarded by mutex_
  bool completed_ = false;            // guarded by mutex_

  // Set inside the handler before the server looks at it; read on the session's I/O thread
  // afterwards.
  std::atomic<bool> held_{false};
  std::chrono::steady_clock::duration max_wait_{};
  HoldCallbacks callbacks_;
  std::function<void(const Response&)> sent_observer_;
  bool ended_ = false;
};

// State shared by the listener and every session. Sessions keep it alive through a shared_ptr,
// so that sessions destroyed together with the io_context can still deregister.
struct ServerState {
  ServerState(ServerOptions options, const Router& router)
      : options(std::move(options)), router(router) {}

  void addSession(const std::shared_ptr<Session>& session, std::uint64_t id) {
    std::lock_guard lock(mutex);
    sessions.emplace(id, session);
  }

  void removeSession(std::uint64_t id) {
    {
      std::lock_guard lock(mutex);
      sessions.erase(id);
    }
    sessions_changed.notify_all();
  }

  const ServerOptions options;
  const Router& router;
  // The pool that runs handlers when options.handler_threads > 0, else null. Owned by
  // Server::Impl, which joins it after the I/O threads.
  HandlerPool* handler_pool = nullptr;
  // Set once by Server::stop(). Sessions then close after their current response.
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_session_id{0};

  std::mutex mutex;
  std::condition_variable sessions_changed;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;  // guarded by mutex
};

// One connection. Every member function runs on the I/O thread that accepted the connection, the
// only thread that runs its io_context, so no two steps of one session run at once. A handler
// runs synchronously inside onRead, or on the handler pool when the server has one; the
// response then comes back to the I/O thread.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerState> state, std::uint64_t id)
      : stream_(std::move(socket)),
        buffer_(readBufferLimit(state->options)),
        state_(std::move(state)),
        id_(id),
        deadline_step_(std::max<SteadyClock::duration>(
            kMinDeadlineStep, std::min<SteadyClock::duration>(state_->options.read_timeout,
                                                              state_->options.idle_timeout))) {
    beast::error_code ignored;
    remote_address_ = stream_.socket().remote_endpoint(ignored).address().to_string();
  }

  ~Session() {
    if (held_) {
      held_->release();
    }
    state_->removeSession(id_);
  }

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::readRequest, shared_from_this()));
  }

  // Closes an idle connection at once when the server stops. A request that is being handled or
  // written finishes first, and its connection closes afterwards. Runs on the I/O thread.
  void onServerStopping() {
    switch (phase_) {
      case Phase::Idle:
        close();
        return;
      case Phase::Reading:
        // The parser makes progress only once a whole header has arrived, so a connection
        // without one counts as idle.
        if (!parser_ || !parser_->got_some()) {
          close();
          return;
        }
        close_after_write_ = true;
        return;
      case Phase::Handling:
      case Phase::Writing:
        close_after_write_ = true;
        return;
      case Phase::Held:
        close_after_write_ = true;
        held_->end(HoldEnd::ServerStopping);
        return;
      case Phase::Closed:
        return;
    }
  }

  asio::any_io_executor executor() { return stream_.get_executor(); }

  // Sends the response of the held request once the deferral has one. Runs on the I/O thread.
  void takeHeldResponse(const SessionDeferral* deferral) {
    if (phase_ != Phase::Held || held_.get() != deferral || !held_->hasResponse()) {
      return;
    }
    if (held_reading_) {
      // onHeldRead sends it once the cancelled read has returned, because a new read may start
      // only after the old one ended.
      stream_.cancel();
      return;
    }
    finishHeld();
  }

 private:
  enum class Phase { Idle, Reading, Handling, Writing, Held, Closed };

  // Waits up to idle_timeout for the first bytes of the next request on a keep-alive
  // connection. The rest of the request then gets read_timeout.
  void waitForRequest() {
    if (buffer_.size() > 0) {
      readRequest();
      return;
    }
    phase_ = Phase::Idle;
    setDeadline(state_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                            beast::bind_front_handler(&Session::onIdleRead, shared_from_this()));
  }

  void onIdleRead(beast::error_code error, std::size_t bytes) {
    if (error) {
      if (error != asio::error::eof && error != beast::error::timeout &&
          error != asio::error::operation_aborted) {
        spdlog::debug("event=connection_failed error=\"{}\"", error.message());
      }
      close();
      return;
    }
    buffer_.commit(bytes);
    readRequest();
  }

  // NOTE: A request with Expect: 100-continue gets no interim 100 response, so a client such as
  // curl waits about one second before it sends the body anyway.
  void readRequest() {
    phase_ = Phase::Reading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_header_bytes));
    parser_->body_limit(state_->options.max_body_bytes);
    setDeadline(state_->options.read_timeout);
    beast_http::async_read(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::onRead, shared_from_this()));
  }

  void onRead(beast::error_code error, std::size_t) {
    if (error) {
      handleReadError(error);
      return;
    }
    if (phase_ == Phase::Closed) {
      return;
    }
    if (!hasValidHost(parser_->get())) {
      parser_.reset();
      rejectRequest(400, "Bad Request\n");
      return;
    }
    handleRequest();
  }

  void handleReadError(beast::error_code error) {
    if (error == beast_http::error::header_limit) {
      rejectRequest(431, "Request Header Fields Too Large\n", parsedPath());
    } else if (error == beast_http::error::body_limit) {
      rejectRequest(413, "Content Too Large\n", parsedPath());
    } else if (error == beast_http::error::buffer_overflow) {
      // A chunk header or trailer line longer than the read buffer.
      rejectRequest(400, "Bad Request\n", parsedPath());
    } else if (error == beast_http::error::end_of_stream ||
               error == beast_http::error::partial_message ||
               error == asio::error::operation_aborted || error == beast::error::timeout) {
      // A client that closes, or sends too slowly (read_timeout), is disconnected without a
      // response.
      close();
    } else if (error.category() ==
               beast_http::make_error_code(beast_http::error::bad_target).category()) {
      rejectRequest(400, "Bad Request\n");
    } else {
      spdlog::debug("event=connection_failed error=\"{}\"", error.message());
      close();
    }
  }

  void handleRequest() {
    // No socket operation is pending while the handler runs, and a slow handler is not a slow
    // client.
    clearDeadline();
    const auto started = SteadyClock::now();
    std::string request_id = requestIdFor(parser_->get());
    auto request = std::make_shared<Request>(
        Request{parser_->release(), remote_address_, std::move(request_id)});
    request->deferral = std::make_shared<SessionDeferral>(weak_from_this(), stream_.get_executor(),
                                                          state_->handler_pool);
    parser_.reset();
    const Router::Routes* routes = state_->router.routesFor(*request);
    if (state_->handler_pool == nullptr) {
      finishOrHold(request, state_->router.dispatch(routes, *request), started);
      return;
    }
    // A route's quick handler runs here, on the I/O thread, which saves the hand-off to a
    // handler thread and back whenever it returns a response.
    if (auto quick = state_->router.dispatchQuick(routes, *request)) {
      finishOrHold(request, std::move(*quick), started);
      return;
    }

    // The job holds the session, so the session outlives it; Server::stop() joins the pool
    // after the I/O threads, so the router outlives it too.
    phase_ = Phase::Handling;
    state_->handler_pool->post([self = shared_from_this(), request, routes, started] {
      Response response = self->state_->router.dispatch(routes, *request);
      asio::post(self->stream_.get_executor(),
                 [self, request, started, response = std::move(response)]() mutable {
                   self->finishOrHold(request, std::move(response), started);
                 });
    });
  }

  void finishOrHold(const std::shared_ptr<Request>& request, Response response,
                    SteadyClock::time_point started) {
    auto deferral = std::static_pointer_cast<SessionDeferral>(request->deferral);
    if (!deferral->held()) {
      request->deferral.reset();
      finishRequest(*request, std::move(response), started);
      return;
    }
    if (phase_ == Phase::Closed) {
      deferral->abandon();
      return;
    }
    enterHold(request, std::move(deferral), started);
  }

  // Keeps the connection open until the deferral is completed. A read stays outstanding
  // meanwhile, so that a client that closes the connection is noticed. Bytes of a next
  // (pipelined) request are kept in the buffer.
  void enterHold(const std::shared_ptr<Request>& request, std::shared_ptr<SessionDeferral> deferral,
                 SteadyClock::time_point started) {
    phase_ = Phase::Held;
    held_ = std::move(deferral);
    held_request_ = request;
    held_started_ = started;
    hold_timer_.expires_after(held_->maxWait());
    hold_timer_.async_wait(beast::bind_front_handler(&Session::onHoldTimer, shared_from_this()));
    if (state_->stopping) {
      close_after_write_ = true;
      held_->end(HoldEnd::ServerStopping);
    }
    if (phase_ == Phase::Held) {
      readDuringHold();
    }
  }

  void readDuringHold() {
    if (buffer_.size() + kReadChunkBytes > buffer_.max_size()) {
      // The buffer is full of pipelined bytes; closing is then noticed when writing.
      held_reading_ = false;
      takeHeldResponse(held_.get());
      return;
    }
    held_reading_ = true;
    clearDeadline();
    stream_.async_read_some(buffer_.prepare(kReadChunkBytes),
                            beast::bind_front_handler(&Session::onHeldRead, shared_from_this()));
    takeHeldResponse(held_.get());
  }

  void onHeldRead(beast::error_code error, std::size_t bytes) {
    held_reading_ = false;
    buffer_.commit(bytes);
    if (phase_ != Phase::Held) {
      return;
    }
    if (finishHeld()) {
      return;
    }
    if (error) {
      // The client closed the connection, or the server closed it after shutdown_grace.
      hold_timer_.cancel();
      auto deferral = std::move(held_);
      held_request_.reset();
      close();
      deferral->abandon();
      return;
    }
    readDuringHold();
  }

  void onHoldTimer(beast::error_code error) {
    if (error || phase_ != Phase::Held) {
      return;
    }
    held_->end(HoldEnd::Deadline);
  }

  // Writes the held response when the deferral has one and no read is outstanding. Returns
  // whether it did.
  bool finishHeld() {
    if (held_reading_) {
      return false;
    }
    auto response = held_->takeResponse();
    if (!response) {
      return false;
    }
    hold_timer_.cancel();
    auto deferral = std::move(held_);
    auto request = std::move(held_request_);
    deferral->notifySent(*response);
    deferral->release();
    request->deferral.reset();
    finishRequest(*request, std::move(*response), held_started_);
    return true;
  }

  void finishRequest(const Request& request, Response response, SteadyClock::time_point started) {
    response.version(request.message.version());
    // RFC 9110 §9.3.2: a response to HEAD has no content, or a client that reuses the
    // connection would read it as the start of the next response.
    if (request.message.method() == beast_http::verb::head) {
      response.body().clear();
    }
    if (response.find("X-Request-Id") == response.end()) {
      response.set("X-Request-Id", request.request_id);
    }
    const bool response_keep_alive = response.keep_alive();
    const bool keep_alive =
        request.message.keep_alive() && response_keep_alive && !state_->stopping;
    if (keep_alive != response_keep_alive) {
      response.keep_alive(keep_alive);
    }
    // The responses of http/response.h already have a Content-Length that matches their body,
    // and setting it again would only replace the header field.
    const auto length = response.find(beast_http::field::content_length);
    if (length == response.end() || response.chunked() ||
        length->value() != std::to_string(response.body().size())) {
      response.prepare_payload();
    }

    const std::chrono::duration<double, std::milli> duration = SteadyClock::now() - started;
    spdlog::debug("event=request request_id={} method={} path={} status={} duration_ms={:.3f}",
                  request.request_id, request.message.method_string(), request.path(),
                  response.result_int(), duration.count());
    writeResponse(std::move(response), /*drain_after=*/false);
  }

  // The path of the request being read, or empty before its request line was parsed.
  std::string parsedPath() const {
    if (!parser_) {
      return {};
    }
    const std::string_view target = parser_->get().target();
    return std::string(target.substr(0, target.find('?')));
  }

  // Sends an error response for a request that could not be parsed, then closes the connection.
  // Under /oauth/ the response is an RFC 6749 §5.2 invalid_request with `status`, elsewhere
  // `text` as plain text.
  void rejectRequest(unsigned status, std::string_view text, std::string_view path = {}) {
    Request request;
    request.message.version(11);
    request.remote_address = remote_address_;
    request.request_id = newRequestId();
    Response response = textResponse(request, status, text);
    if (path.starts_with("/oauth/")) {
      std::string description(text.substr(0, text.find('\n')));
      response =
          oauthErrorResponse(request, makeError(OAuthErrorCode::InvalidRequest, description + "."));
      response.result(status);
    }
    response.keep_alive(false);
    spdlog::debug("event=request_rejected request_id={} status={}", request.request_id, status);
    writeResponse(std::move(response), /*drain_after=*/true);
  }

  void writeResponse(Response response, bool drain_after) {
    phase_ = Phase::Writing;
    close_after_write_ = close_after_write_ || !response.keep_alive();
    drain_after_write_ = drain_after;
    // A client that stops reading the response is disconnected after read_timeout as well.
    setDeadline(state_->options.read_timeout);
    if (response.chunked()) {
      response_ = std::make_shared<Response>(std::move(response));
      beast_http::async_write(stream_, *response_,
                              beast::bind_front_handler(&Session::onWrite, shared_from_this()));
      return;
    }
    wire_.clear();
    serializeResponse(response, wire_);
    asio::async_write(stream_, asio::buffer(wire_),
                      beast::bind_front_handler(&Session::onWrite, shared_from_this()));
  }

  void onWrite(beast::error_code error, std::size_t) {
    response_.reset();
    wire_.clear();
    if (error) {
      spdlog::debug("event=connection_failed error=\"{}\"", error.message());
      close();
      return;
    }
    if (drain_after_write_) {
      drain();
      return;
    }
    if (close_after_write_ || state_->stopping) {
      close();
      return;
    }
    waitForRequest();
  }

  void drain() {
    phase_ = Phase::Idle;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    setDeadline(kDrainTimeout);
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            beast::bind_front_handler(&Session::onDrain, shared_from_this()));
  }

  void onDrain(beast::error_code error, std::size_t bytes) {
    drained_bytes_ += bytes;
    if (error || drained_bytes_ > kMaxDrainBytes || phase_ == Phase::Closed) {
      close();
      return;
    }
    stream_.async_read_some(asio::buffer(drain_buffer_),
                            beast::bind_front_handler(&Session::onDrain, shared_from_this()));
  }

  void close() {
    if (phase_ == Phase::Closed) {
      return;
    }
    phase_ = Phase::Closed;
    deadline_timer_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  // Sets the time by which the socket operation about to start must end. When it passes, the
  // connection closes and the operation completes with an error. All reads of one request
  // share the deadline that readRequest sets.
  //
  // Beast's tcp_stream can do this too, but it starts and cancels a timer for each operation,
  // which cost about 3 microseconds of CPU per poll. deadline_timer_ instead wakes at most once
  // per deadline_step_ to compare the clock with deadline_. Moving the deadline at each read or
  // write is then a store, and a new wait only when the deadline comes before the timer's
  // expiry, as for the drain after an error response.
  void setDeadline(SteadyClock::duration timeout) {
    const auto now = SteadyClock::now();
    deadline_ = now + timeout;
    if (!deadline_waiting_ || deadline_timer_.expiry() > deadline_) {
      waitForDeadline(now);
    }
  }

  // Removes the deadline, so nothing closes the connection until setDeadline is called again.
  void clearDeadline() { deadline_ = SteadyClock::time_point::max(); }

  // Arms deadline_timer_ for deadline_, or for deadline_step_ from now if that comes first.
  // Changing the expiry cancels a wait that is still pending, and its handler then does nothing.
  void waitForDeadline(SteadyClock::time_point now) {
    deadline_timer_.expires_at(std::min(deadline_, now + deadline_step_));
    deadline_waiting_ = true;
    // A weak reference: a pending wait must not keep a finished session alive.
    deadline_timer_.async_wait([weak = weak_from_this()](beast::error_code error) {
      if (auto self = weak.lock()) {
        self->onDeadlineTimer(error);
      }
    });
  }

  void onDeadlineTimer(beast::error_code error) {
    if (error || phase_ == Phase::Closed) {
      return;
    }
    deadline_waiting_ = false;
    if (deadline_ == SteadyClock::time_point::max()) {
      return;
    }
    const auto now = SteadyClock::now();
    if (now < deadline_) {
      waitForDeadline(now);
      return;
    }
    // The pending read or write completes with operation_aborted, and its handler ends the
    // session quietly, as for a client that closed.
    close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  // Kept alive until async_write completes: the serialized response, or for a chunked one
  // the response itself. wire_ keeps its capacity from one response to the next.
  std::shared_ptr<Response> response_;
  std::string wire_;
  std::array<char, kReadChunkBytes> drain_buffer_{};
  std::size_t drained_bytes_ = 0;

  // See setDeadline. stream_ itself never times out (expires_never is its default).
  asio::steady_timer deadline_timer_{stream_.get_executor()};
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();
  bool deadline_waiting_ = false;

  // The held request, while phase_ is Held (http/deferred.h).
  std::shared_ptr<SessionDeferral> held_;
  std::shared_ptr<Request> held_request_;
  SteadyClock::time_point held_started_;
  asio::steady_timer hold_timer_{stream_.get_executor()};
  bool held_reading_ = false;

  std::shared_ptr<ServerState> state_;
  const std::uint64_t id_;
  // Maximum sleep of deadline_timer_: the shorter of the two timeouts, and at least
  // kMinDeadlineStep. A deadline set after the timer's expiry then needs no new wait.
  const SteadyClock::duration deadline_step_;
  std::string remote_address_;
  Phase phase_ = Phase::Idle;
  bool close_after_write_ = false;
  bool drain_after_write_ = false;
};

void SessionDeferral::complete(Response response) {
  {
    std::lock_guard lock(mutex_);
    if (completed_) {
      return;
    }
    completed_ = true;
    response_ = std::move(response);
  }
  asio::post(executor_, [session = session_, self = shared_from_this()] {
    if (auto live = session.lock()) {
      live->takeHeldResponse(self.get());
    }
  });
}

[[noreturn]] void throwSystemError(beast::error_code error, const std::string& what) {
  throw std::system_error(std::error_code(error), what);
}

}  // namespace

unsigned threadCount(unsigned configured) {
  if (configured != 0) {
    return configured;
  }
  return std::max(1U, std::thread::hardware_concurrency());
}

struct Server::Impl {
  Impl(ServerOptions options, const Router& router)
      : state(std::make_shared<ServerState>(std::move(options), router)),
        ios(makeIoContexts(threadCount(state->options.io_threads))),
        acceptor(ios.front()->get_executor()),
        accept_retry(acceptor.get_executor()) {}

  // One io_context per I/O thread, each run by that thread alone (concurrency hint 1). A shared
  // io_context wakes another of its threads whenever one takes a handler and more are queued.
  // Here a connection's completions all run on the thread it was given.
  static std::vector<std::unique_ptr<asio::io_context>> makeIoContexts(unsigned count) {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    contexts.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
    }
    return contexts;
  }

  void listen();
  void runIoThread(asio::io_context& io);
  void doAccept();
  void onAccept(beast::error_code error, tcp::socket socket);
  void closeAcceptor();
  void finishSessions();

  std::shared_ptr<ServerState> state;
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  // The io_context of the next accepted connection; used on the acceptor's thread only.
  std::size_t next_io = 0;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  std::vector<std::thread> threads;
  std::optional<HandlerPool> handler_pool;
  std::atomic<std::uint16_t> port{0};

  // Serialises start() and stop(). stop() keeps it locked until the threads are joined.
  std::mutex lifecycle_mutex;
  std::condition_variable stopped_signal;
  bool started = false;  // guarded by lifecycle_mutex
  bool stopped = false;  // guarded by lifecycle_mutex
};

// Runs the io_context until it stops. An exception that escapes a completion handler (Beast
// throws std::length_error for a header field over 64 KiB, for example) would otherwise
// terminate the process. The handler that threw is gone with its session, and the thread
// goes back to serving the other connections (Asio allows run() to be called again).
void Server::Impl::runIoThread(asio::io_context& io) {
  while (true) {
    try {
      io.run();
      return;
    } catch (const std::exception& error) {
      spdlog::error("event=io_handler_failed error=\"{}\"", error.what());
    }
  }
}

void Server::Impl::listen() {
  const ServerOptions& options = state->options;
  const std::string where = options.address + ":" + std::to_string(options.port);
  beast::error_code error;
  tcp::resolver resolver(*ios.front());
  const auto endpoints =
      resolver.resolve(options.address, std::to_string(options.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, error);
  if (error || endpoints.empty()) {
    throwSystemError(error, "resolving the listen address " + where + " failed");
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();

  acceptor.open(endpoint.protocol(), error);
  if (error) {
    throwSystemError(error, "opening a socket for " + where + " failed");
  }
  acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (error) {
    throwSystemError(error, "setting SO_REUSEADDR on " + where + " failed");
  }
  acceptor.bind(endpoint, error);
  if (error) {
    throwSystemError(error, "binding " + where + " failed (is another server using the port?)");
  }
  acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    throwSystemError(error, "listening on " + where + " failed");
  }
  port = acceptor.local_endpoint().port();
}

void Server::Impl::doAccept() {
  // Connections go to the I/O threads in turn. A session needs no strand, because one thread
  // alone runs its io_context.
  asio::io_context& io = *ios[next_io];
  next_io = (next_io + 1) % ios.size();
  acceptor.async_accept(io.get_executor(), beast::bind_front_handler(&Impl::onAccept, this));
}

void Server::Impl::onAccept(beast::error_code error, tcp::socket socket) {
  if (error == asio::error::operation_aborted || state->stopping) {
    return;
  }
  if (error) {
    spdlog::warn("event=accept_failed error=\"{}\"", error.message());
    accept_retry.expires_after(kAcceptRetryDelay);
    accept_retry.async_wait([this](beast::error_code wait_error) {
      if (!wait_error && !state->stopping) {
        doAccept();
      }
    });
    return;
  }

  const std::uint64_t id = state->next_session_id++;
  auto session = std::make_shared<Session>(std::move(socket), state, id);
  state->addSession(session, id);
  session->start();
  doAccept();
}

// Closes the listening socket on the acceptor's thread and waits until it is closed, so that
// no connection is accepted after this returns.
void Server::Impl::closeAcceptor() {
  std::promise<void> closed;
  asio::post(acceptor.get_executor(), [this, &closed] {
    beast::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
    closed.set_value();
  });
  closed.get_future().wait();
}

// Tells every session that the server stops, then waits up to shutdown_grace for them to end.
void Server::Impl::finishSessions() {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(state->mutex);
    for (const auto& [id, weak] : state->sessions) {
      if (auto session = weak.lock()) {
        open.push_back(std::move(session));
      }
    }
  }
  for (auto& session : open) {
    asio::dispatch(session->executor(), [session] { session->onServerStopping(); });
  }
  open.clear();

  const auto deadline = SteadyClock::now() + state->options.shutdown_grace;
  std::unique_lock lock(state->mutex);
  if (!state->sessions_changed.wait_until(lock, deadline,
                                          [this] { return state->sessions.empty(); })) {
    spdlog::warn("event=shutdown_grace_expired open_connections={}", state->sessions.size());
  }
}

Server::Server(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() { stop(); }

void Server::start() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->started || impl_->stopped) {
    return;
  }
  impl_->listen();
  const unsigned handler_threads = impl_->state->options.handler_threads;
  if (handler_threads > 0) {
    impl_->handler_pool.emplace(handler_threads,
                                threadCount(impl_->state->options.handler_active_threads));
    impl_->state->handler_pool = &*impl_->handler_pool;
  }
  for (auto& io : impl_->ios) {
    impl_->work.emplace_back(io->get_executor());
  }
  asio::post(impl_->acceptor.get_executor(), [impl = impl_.get()] { impl->doAccept(); });

  const auto count = static_cast<unsigned>(impl_->ios.size());
  for (auto& io : impl_->ios) {
    impl_->threads.emplace_back(
        [impl = impl_.get(), context = io.get()] { impl->runIoThread(*context); });
  }
  impl_->started = true;
  spdlog::info("event=http_listening address={} port={} threads={} handler_threads={}",
               impl_->state->options.address, impl_->port.load(), count, handler_threads);
}

// NOTE: stop() joins the I/O threads, so calling it from a request handler deadlocks.
void Server::stop() {
  std::unique_lock lock(impl_->lifecycle_mutex);
  if (impl_->stopped) {
    return;
  }
  if (impl_->started) {
    impl_->state->stopping = true;
    impl_->closeAcceptor();
    impl_->finishSessions();
    impl_->work.clear();
    for (auto& io : impl_->ios) {
      io->stop();
    }
    for (auto& thread : impl_->threads) {
      thread.join();
    }
    impl_->threads.clear();
    // Handler jobs still running past shutdown_grace finish here. Their responses are not sent,
    // because the I/O threads have stopped.
    if (impl_->handler_pool) {
      impl_->handler_pool->join();
    }
    spdlog::info("event=http_stopped port={}", impl_->port.load());
  }
  impl_->stopped = true;
  lock.unlock();
  impl_->stopped_signal.notify_all();
}

void Server::wait() {
  std::unique_lock lock(impl_->lifecycle_mutex);
  impl_->stopped_signal.wait(lock, [this] { return impl_->stopped; });
}

std::uint16_t Server::port() const { return impl_->port.load(); }

}  // namespace devauth::http

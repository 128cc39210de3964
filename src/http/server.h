#pragma once

// The HTTP/1.1 server: Boost.Beast sessions on Asio I/O threads, each with its own io_context.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "http/router.h"

namespace devauth::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  // 0 picks a free port; port() then returns it.
  std::uint16_t port = 8080;
  // 0 means one thread per core. Accepted connections go to the threads in turn, and each
  // connection stays on its thread.
  unsigned io_threads = 0;
  // Threads of a separate pool that runs the request handlers. 0 runs each handler on the I/O
  // thread that read the request. Handlers that block, on a database server for example, need
  // this pool, so that slow handlers do not hold up reads and writes on other connections.
  // With the pool, a route's quick handler (Router::add) is tried on the I/O thread first.
  unsigned handler_threads = 0;
  // How many handler threads run at once while none waits inside a BlockingRegion; 0 means one
  // per core. More threads than cores only preempt each other, and each waiting thread lets
  // another one run.
  unsigned handler_active_threads = 0;
  std::size_t max_header_bytes = std::size_t{8} * 1024;
  std::size_t max_body_bytes = std::size_t{64} * 1024;
  // Time allowed to receive one whole request, and the idle time of a keep-alive connection.
  std::chrono::seconds read_timeout{15};
  std::chrono::seconds idle_timeout{60};
  // Time allowed for requests in flight to finish on shutdown.
  std::chrono::seconds shutdown_grace{10};
};

// Returns the number of threads for a ServerOptions count of `configured`: `configured` itself,
// or one per core when it is 0.
unsigned threadCount(unsigned configured);

class Server {
 public:
  Server(ServerOptions options, const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the I/O threads; returns once the socket accepts connections.
  // Throws std::system_error when the address cannot be bound.
  void start();

  // Stops accepting, lets requests in flight finish (up to shutdown_grace), closes idle
  // connections and joins the threads. Safe to call more than once and from any thread.
  void stop();

  // Blocks until stop() has completed.
  void wait();

  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace devauth::http

#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/types.hpp"
#include "util/mutex.hpp"
#include "util/rate_limit.hpp"

namespace osbd::http {

/// A connection, whatever its transport; see server.cpp.
class SessionBase {
 public:
  virtual ~SessionBase();
  /// Closes the connection now if it waits for a request; otherwise after the current reply.
  virtual void shutdown() = 0;
};

/// Limits of one connection.
struct ServerOptions {
  std::size_t max_body_bytes = 1024 * 1024;  ///< larger bodies get handler.too_large()
  std::size_t max_header_bytes = 16 * 1024;  ///< larger headers get 431 and a close
  std::chrono::seconds timeout{60};          ///< per read and per write
  /// Open connections at most; one more is answered 503 and closed at once.
  std::size_t max_connections = 10000;
  /// Bytes that the bodies being received may take together (a body counts with its announced
  /// Content-Length, a chunked one with max_body_bytes); a request over it gets 503.
  std::size_t max_body_bytes_in_flight = 64u << 20;
  /// HTTPS with this context (see make_server_tls); plain HTTP when null.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

/// The I/O contexts of the HTTP sessions, each run by exactly one thread. A connection stays on
/// the context it was given at accept time, so its handlers need no strand and no lock, and the
/// threads share nothing on the request path (like one event loop per worker process).
using IoContexts = std::vector<std::unique_ptr<boost::asio::io_context>>;

/// An HTTP/1.1 listener: accepts connections and runs one Session per connection (keep-alive,
/// one request at a time), spreading connections over the contexts round-robin. Owned through
/// shared_ptr because sessions refer back to it.
class Server : public std::enable_shared_from_this<Server> {
 public:
  /// Binds and listens on the first context; throws boost::system::system_error with the address
  /// on failure. contexts must not be empty and must outlive the server.
  Server(IoContexts& contexts, const boost::asio::ip::tcp::endpoint& endpoint, Handler& handler,
         ServerOptions options);

  /// Starts accepting.
  void start();
  /// Stops accepting, closes idle connections and lets busy ones finish their response.
  void stop() OSBD_EXCLUDES(sessions_mutex_);
  /// Calls fn once, after stop(), as the last connection closes (at once if none is open then):
  /// on the thread that closes it, in stop(), or in this call. Set before stop() or after.
  void on_drained(std::function<void()> fn) OSBD_EXCLUDES(sessions_mutex_);
  /// The bound endpoint (the real port when bound to port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  /// Connections still open.
  std::size_t open_sessions() const OSBD_EXCLUDES(sessions_mutex_);

  /// Called by sessions as they start and end.
  void add_session(const std::shared_ptr<SessionBase>& s) OSBD_EXCLUDES(sessions_mutex_);
  /// Called by sessions as they start and end.
  void remove_session(SessionBase* s) OSBD_EXCLUDES(sessions_mutex_);
  /// Reserves bytes of the body budget (max_body_bytes_in_flight); false when they do not fit.
  bool reserve_body(std::size_t bytes) noexcept;
  /// Gives back what reserve_body() took.
  void release_body(std::size_t bytes) noexcept;
  /// True once stop() was called.
  bool stopping() const noexcept { return stopping_.load(); }

 private:
  void do_accept();
  // Accepting failed with ec: try again, after a pause when the process is out of descriptors
  // or memory, which an immediate retry would only spin on.
  void retry_accept(const boost::system::error_code& ec);
  // Calls the on_drained() function if stop() was called and no connection is open.
  void notify_if_drained() OSBD_EXCLUDES(sessions_mutex_);

  IoContexts& contexts_;
  std::size_t next_context_ = 0;  // touched only by the accept handler (first context's thread)
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_pause_;                   // first context's thread only
  std::chrono::milliseconds accept_backoff_{0};              // first context's thread only
  std::atomic<std::size_t> body_bytes_in_flight_{0};         // reserve_body / release_body
  std::atomic<std::size_t> open_sessions_{0};                // add_session / remove_session
  util::RateLimit accept_errors_{std::chrono::seconds(10)};  // one "accept failed" line per 10 s
  Handler& handler_;
  ServerOptions options_;
  std::atomic<bool> stopping_{false};
  mutable util::Mutex sessions_mutex_;
  std::map<SessionBase*, std::weak_ptr<SessionBase>> by_address_ OSBD_GUARDED_BY(sessions_mutex_);
  std::function<void()> on_drained_ OSBD_GUARDED_BY(sessions_mutex_);  // emptied once called
};

}  // namespace osbd::http

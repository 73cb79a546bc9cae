#include "http/server.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <string_view>
#include <type_traits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "log/log.hpp"

namespace osbd::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
// Connections use their io_context's executor type directly: no type-erased executor (and no
// strand) on the per-request path, since each context is run by one thread.
using Executor = net::io_context::executor_type;
using Socket = tcp::socket::rebind_executor<Executor>::other;
using Stream = beast::basic_stream<tcp, Executor>;

using TlsStream = beast::ssl_stream<Stream>;

SessionBase::~SessionBase() = default;

Response error_response(unsigned version, bhttp::status status, std::string_view error,
                        std::string_view description) {
  Response res{status, version};
  res.set(bhttp::field::server, "osbd");
  res.set(bhttp::field::content_type, "application/json");
  const nlohmann::json body = {{"error", error}, {"description", description}};
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

namespace {

// Over max_connections: a canned 503, written without waiting (a new socket's send buffer is
// empty), and the socket closed. Costs no session and no allocation. A TLS client could not read
// it before a handshake, so it only sees the close.
void refuse_connection(Socket& socket, bool tls) {
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nServer: osbd\r\nContent-Type: application/json\r\n"
      "Retry-After: 1\r\nConnection: close\r\nContent-Length: 92\r\n\r\n"
      "{\"error\":\"ServiceUnavailable\",\"description\":\"too many connections "
      "(limits.max_connections)\"}";
  beast::error_code ignored;
  if (!tls) {
    socket.non_blocking(true, ignored);
    socket.write_some(net::buffer(kBusy.data(), kBusy.size()), ignored);
  }
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

// Accept failures that an immediate retry would only repeat: out of descriptors or memory.
bool resource_exhausted(const beast::error_code& ec) {
  return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
         ec == net::error::no_memory ||
         (ec.category() == boost::system::system_category() && ec.value() == ENFILE);
}

}  // namespace

/// One connection: read a request, hand it to the handler, write the reply, repeat. S is Stream
/// (plain HTTP) or TlsStream (HTTPS: a handshake first, close_notify at the end).
template <typename S>
class Session : public SessionBase, public std::enable_shared_from_this<Session<S>> {
  static constexpr bool kTls = std::is_same_v<S, TlsStream>;

 public:
  template <typename... Args>
  Session(std::shared_ptr<Server> server, Handler& handler, const ServerOptions& options,
          Socket&& socket, Args&&... tls)
      : stream_(std::move(socket), std::forward<Args>(tls)...),
        server_(std::move(server)),
        handler_(handler),
        options_(options) {}

  ~Session() override {
    release_body();
    server_->remove_session(this);
  }

  void run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        beast::get_lowest_layer(self->stream_).expires_after(self->options_.timeout);
        self->stream_.async_handshake(net::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) {
            // Plain HTTP or a refused client certificate.
            log::debug("tls handshake failed", {{"error", ec.message()}});
            return self->close_transport();
          }
          self->do_read();
        });
      } else {
        self->do_read();
      }
    });
  }

  /// Closes the connection now if it waits for a request; otherwise after the current reply.
  void shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->close_after_reply_ = true;
      if (!self->busy_) {
        self->close_transport();
      }
    });
  }

 private:
  Stream& lowest() { return beast::get_lowest_layer(stream_); }

  void close_transport() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  // The request line and headers first: the handler may refuse the request (no credentials)
  // before its body is read, and the body must fit the server's budget.
  void do_read() {
    release_body();
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    lowest().expires_after(options_.timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      return on_read_error(ec);
    }
    const Request& head = parser_->get();
    if (auto refusal = check_transfer_encoding(head)) {
      return refuse(std::move(*refusal));
    }
    if (auto refusal = handler_.refuse_before_body(head)) {
      return refuse(std::move(*refusal));
    }
    if (parser_->is_done()) {
      return on_read({});  // no body
    }
    const auto announced = parser_->content_length();
    const std::size_t need =
        announced ? static_cast<std::size_t>(*announced) : options_.max_body_bytes;
    if (!server_->reserve_body(need)) {
      Response busy =
          error_response(version_of(head), bhttp::status::service_unavailable, "ServiceUnavailable",
                         "the broker is receiving too many request bodies; retry");
      busy.set(bhttp::field::retry_after, "1");
      return refuse(std::move(busy));
    }
    reserved_ = need;
    if (beast::iequals(head[bhttp::field::expect], "100-continue")) {
      return send_continue();
    }
    read_body();
  }

  // Expect: 100-continue: the client waits for this before it sends the body.
  void send_continue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    lowest().expires_after(options_.timeout);
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) {
                         return self->do_close();
                       }
                       self->read_body();
                     });
  }

  void read_body() {
    lowest().expires_after(options_.timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_read(ec);
                      });
  }

  static unsigned version_of(const Request& head) {
    return head.version() == 0 ? 11 : head.version();
  }

  // Only chunked is a transfer coding osbd decodes; anything else would be read as no body.
  static std::optional<Response> check_transfer_encoding(const Request& head) {
    const auto te = head.find(bhttp::field::transfer_encoding);
    if (te == head.end() || beast::iequals(te->value(), "chunked")) {
      return std::nullopt;
    }
    return error_response(version_of(head), bhttp::status::not_implemented, "NotImplemented",
                          "only Transfer-Encoding: chunked is supported");
  }

  // Answers without reading the rest of the request, then closes the connection.
  void refuse(Response&& response) {
    close_after_reply_ = true;
    unread_body_ = parser_ && !parser_->is_done();
    write(std::move(response));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::eof || ec == net::error::bad_descriptor) {
      return do_close();
    }
    const unsigned version = version_of(parser_->get());
    if (ec == bhttp::error::body_limit) {
      // The rest of the body is still on the wire: answer, then close rather than drain it.
      return refuse(handler_.too_large(version, options_.max_body_bytes));
    }
    if (ec == bhttp::error::header_limit) {
      return refuse(error_response(version, bhttp::status::request_header_fields_too_large,
                                   "RequestHeaderFieldsTooLarge",
                                   "the request line and headers exceed " +
                                       std::to_string(options_.max_header_bytes) + " bytes"));
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return refuse(error_response(version, bhttp::status::bad_request, "BadRequest",
                                   "malformed HTTP request: " + ec.message()));
    }
    log::debug("http read failed", {{"error", ec.message()}});
    do_close();
  }

  // Gives back the body budget this connection's request took.
  void release_body() noexcept {
    if (reserved_ != 0) {
      server_->release_body(reserved_);
      reserved_ = 0;
    }
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      return on_read_error(ec);
    }
    busy_ = true;
    Request request = parser_->release();
    keep_alive_ = request.keep_alive();
    if (keep_alive_ && request.version() == 11 && !close_after_reply_ && !server_->stopping()) {
      if (auto cached = handler_.cached_response(request)) {
        // Answered from memory: the bytes are written as they are, without a response object.
        lowest().expires_after(options_.timeout);
        net::async_write(stream_, net::buffer(*cached),
                         [self = this->shared_from_this(), cached](
                             beast::error_code wec, std::size_t) { self->on_write(wec); });
        return;
      }
    }
    handler_.handle(std::move(request), [self = this->shared_from_this()](Response&& response) {
      auto shared = std::make_shared<Response>(std::move(response));
      net::post(self->stream_.get_executor(), [self, shared] { self->write(std::move(*shared)); });
    });
  }

  void write(Response&& response) {
    busy_ = true;
    if (close_after_reply_ || server_->stopping()) {
      keep_alive_ = false;
    }
    response.keep_alive(keep_alive_);
    response.prepare_payload();
    response_ = std::make_unique<Response>(std::move(response));
    lowest().expires_after(options_.timeout);
    bhttp::async_write(stream_, *response_,
                       [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         self->on_write(ec);
                       });
  }

  void on_write(beast::error_code ec) {
    busy_ = false;
    response_.reset();
    if (ec) {
      return do_close();
    }
    if (!keep_alive_ || close_after_reply_ || server_->stopping()) {
      return unread_body_ ? linger_then_close() : do_close();
    }
    do_read();
  }

  // A connection closed while the client still sends a body it was refused is reset by the
  // kernel, and the reset can destroy the answer before the client reads it. So the answer is
  // followed by the end of the sending side, and what the client still sends is read and dropped
  // (never kept) for kLinger at most, until it closes too.
  static constexpr std::chrono::seconds kLinger{2};

  void linger_then_close() {
    if constexpr (kTls) {
      do_close();
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      discard_ = std::make_unique<std::array<char, 4096>>();
      lowest().expires_after(kLinger);
      drain();
    }
  }

  void drain() {
    lowest().async_read_some(net::buffer(*discard_),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) {
                                 return self->close_transport();
                               }
                               self->drain();
                             });
  }

  void do_close() {
    if constexpr (kTls) {
      // close_notify, bounded by the timeout, then the TCP connection goes.
      lowest().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->close_transport(); });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      stream_.close();
    }
  }

  S stream_;
  std::shared_ptr<Server> server_;
  Handler& handler_;
  const ServerOptions& options_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::unique_ptr<Response> response_;
  bool keep_alive_ = false;
  bool busy_ = false;
  bool close_after_reply_ = false;
  std::size_t reserved_ = 0;  // body budget held by the current request
  bool unread_body_ = false;  // refused before its body was read: linger before the close
  std::unique_ptr<std::array<char, 4096>> discard_;  // what a lingering close reads and drops
};

Server::Server(IoContexts& contexts, const tcp::endpoint& endpoint, Handler& handler,
               ServerOptions options)
    : contexts_(contexts),
      acceptor_(*contexts.front()),
      accept_pause_(*contexts.front()),
      handler_(handler),
      options_(options) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(net::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(net::socket_base::max_listen_connections);
}

void Server::start() {
  do_accept();
}

void Server::do_accept() {
  net::io_context& target = *contexts_[next_context_];
  next_context_ = (next_context_ + 1) % contexts_.size();
  acceptor_.async_accept(
      target, [self = this->shared_from_this()](beast::error_code ec, Socket socket) {
        if (ec) {
          if (ec != net::error::operation_aborted && !self->stopping()) {
            self->retry_accept(ec);
          }
          return;
        }
        self->accept_backoff_ = std::chrono::milliseconds(0);
        if (self->stopping()) {
          return;
        }
        if (self->open_sessions_.load() >= self->options_.max_connections) {
          refuse_connection(socket, self->options_.tls != nullptr);
          return self->do_accept();
        }
        if (self->options_.tls) {
          auto session = std::make_shared<Session<TlsStream>>(
              self, self->handler_, self->options_, std::move(socket), *self->options_.tls);
          self->add_session(session);
          session->run();
        } else {
          auto session = std::make_shared<Session<Stream>>(self, self->handler_, self->options_,
                                                           std::move(socket));
          self->add_session(session);
          session->run();
        }
        self->do_accept();
      });
}

void Server::retry_accept(const beast::error_code& ec) {
  const bool exhausted = resource_exhausted(ec);
  if (exhausted) {
    // 10 ms doubling to 1 s: connections wait in the backlog meanwhile.
    accept_backoff_ = std::clamp(accept_backoff_ * 2, std::chrono::milliseconds(10),
                                 std::chrono::milliseconds(1000));
  }
  if (uint64_t suppressed = 0; accept_errors_.allow(suppressed)) {
    log::warn("accept failed", {{"error", ec.message()},
                                {"suppressed", suppressed},
                                {"retry_in_ms", exhausted ? accept_backoff_.count() : 0}});
  }
  if (!exhausted) {
    return do_accept();
  }
  accept_pause_.expires_after(accept_backoff_);
  accept_pause_.async_wait([self = this->shared_from_this()](const beast::error_code& wait_ec) {
    if (!wait_ec && !self->stopping()) {
      self->do_accept();
    }
  });
}

bool Server::reserve_body(std::size_t bytes) noexcept {
  std::size_t held = body_bytes_in_flight_.load();
  do {
    if (bytes >
        options_.max_body_bytes_in_flight - std::min(held, options_.max_body_bytes_in_flight)) {
      return false;
    }
  } while (!body_bytes_in_flight_.compare_exchange_weak(held, held + bytes));
  return true;
}

void Server::release_body(std::size_t bytes) noexcept {
  body_bytes_in_flight_.fetch_sub(bytes);
}

void Server::stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  net::post(acceptor_.get_executor(), [self = this->shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
    self->accept_pause_.cancel();
  });
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    util::MutexLock lock(sessions_mutex_);
    for (const auto& [ptr, weak] : by_address_) {
      if (auto s = weak.lock()) {
        live.push_back(std::move(s));
      }
    }
  }
  for (const auto& s : live) {
    s->shutdown();
  }
  notify_if_drained();
}

void Server::on_drained(std::function<void()> fn) {
  {
    util::MutexLock lock(sessions_mutex_);
    on_drained_ = std::move(fn);
  }
  notify_if_drained();
}

void Server::notify_if_drained() {
  std::function<void()> fn;
  {
    util::MutexLock lock(sessions_mutex_);
    if (!stopping_.load() || !by_address_.empty()) {
      return;
    }
    fn = std::move(on_drained_);
    on_drained_ = nullptr;
  }
  if (fn) {
    fn();
  }
}

tcp::endpoint Server::local_endpoint() const {
  return acceptor_.local_endpoint();
}

std::size_t Server::open_sessions() const {
  util::MutexLock lock(sessions_mutex_);
  return by_address_.size();
}

void Server::add_session(const std::shared_ptr<SessionBase>& s) {
  util::MutexLock lock(sessions_mutex_);
  by_address_[s.get()] = s;
  open_sessions_.store(by_address_.size());
}

void Server::remove_session(SessionBase* s) {
  {
    util::MutexLock lock(sessions_mutex_);
    by_address_.erase(s);
    open_sessions_.store(by_address_.size());
  }
  notify_if_drained();
}

}  // namespace osbd::http

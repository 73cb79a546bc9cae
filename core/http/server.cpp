#include "http/server.hpp"

#include <type_traits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

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

  ~Session() override { server_->remove_session(this); }

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

  void do_read() {
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    lowest().expires_after(options_.timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_read(ec);
                      });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::eof || ec == net::error::bad_descriptor) {
      return do_close();
    }
    if (ec == bhttp::error::body_limit) {
      // The rest of the body is still on the wire: answer, then close rather than drain it.
      close_after_reply_ = true;
      const unsigned version = parser_->get().version();
      return write(handler_.too_large(version == 0 ? 11 : version, options_.max_body_bytes));
    }
    if (ec) {
      // Malformed HTTP: there is no request to answer in OSB terms; close.
      log::debug("http read failed", {{"error", ec.message()}});
      return do_close();
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
      return do_close();
    }
    do_read();
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
};

Server::Server(IoContexts& contexts, const tcp::endpoint& endpoint, Handler& handler,
               ServerOptions options)
    : contexts_(contexts), acceptor_(*contexts.front()), handler_(handler), options_(options) {
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
            log::warn("accept failed", {{"error", ec.message()}});
            self->do_accept();
          }
          return;
        }
        if (self->stopping()) {
          return;
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

void Server::stop() {
  if (stopping_.exchange(true)) {
    return;
  }
  net::post(acceptor_.get_executor(), [self = this->shared_from_this()] {
    beast::error_code ec;
    self->acceptor_.close(ec);
  });
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    for (const auto& [ptr, weak] : by_address_) {
      if (auto s = weak.lock()) {
        live.push_back(std::move(s));
      }
    }
  }
  for (const auto& s : live) {
    s->shutdown();
  }
}

tcp::endpoint Server::local_endpoint() const {
  return acceptor_.local_endpoint();
}

std::size_t Server::open_sessions() const {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  return by_address_.size();
}

void Server::add_session(const std::shared_ptr<SessionBase>& s) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  by_address_[s.get()] = s;
}

void Server::remove_session(SessionBase* s) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  by_address_.erase(s);
}

}  // namespace osbd::http

#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http.hpp>

namespace osbd::http {

/// A request as read from the wire (body kept as text).
using Request = boost::beast::http::request<boost::beast::http::string_body>;
/// A response ready to be written.
using Response = boost::beast::http::response<boost::beast::http::string_body>;
/// Completes a request; may be called from any thread, exactly once.
using Reply = std::function<void(Response&&)>;

/// Answers requests. handle() runs on an I/O thread and must not block: slow work (the state
/// store, plugin calls) goes to a worker pool, which calls reply when done.
class Handler {
 public:
  virtual ~Handler() = default;
  /// Handles one request; reply is called exactly once with the response.
  virtual void handle(Request&& request, Reply reply) = 0;
  /// A complete pre-serialized HTTP/1.1 response (status line, headers, body) for requests that
  /// can be answered from memory on the I/O thread, or nullptr to go through handle(). Only for
  /// keep-alive HTTP/1.1 requests.
  virtual std::shared_ptr<const std::string> cached_response(const Request& request) {
    (void)request;
    return nullptr;
  }
  /// Builds the response for a request whose body exceeded the configured limit.
  virtual Response too_large(unsigned version, std::size_t limit) = 0;
  /// Called with the request line and headers (an empty body) before the body is read: a
  /// response refuses the request without reading its body (the connection then closes), so that
  /// a client without credentials cannot make the broker hold its body. nullopt reads on. Runs on
  /// an I/O thread and must not block.
  virtual std::optional<Response> refuse_before_body(const Request& head) {
    (void)head;
    return std::nullopt;
  }
};

/// A response in the OSB error format ({"error": ..., "description": ...}) for failures the
/// HTTP layer answers itself (malformed requests, limits).
Response error_response(unsigned version, boost::beast::http::status status, std::string_view error,
                        std::string_view description);

}  // namespace osbd::http

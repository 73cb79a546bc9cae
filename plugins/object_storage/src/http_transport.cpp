#include "http_transport.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace osbd_object_storage {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t max_body_bytes = 64U * 1024U * 1024U;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  for (char c : host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' ||
                    c == ':' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Runs one asynchronous operation to its end on ioc: Beast's stream timeouts apply only to
// asynchronous operations, so every step is one, driven here synchronously.
template <typename Start>
void run_step(asio::io_context& ioc, Start&& start) {
  beast::error_code result;
  bool done = false;
  start([&](beast::error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  ioc.restart();
  ioc.run();
  if (!done) {
    throw TransportError("an operation did not complete");
  }
  if (result) {
    throw beast::system_error(result);
  }
}

template <typename Stream>
HttpResponse exchange(asio::io_context& ioc, Stream& stream, const Endpoint& endpoint,
                      const HttpRequest& request) {
  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(request.target);
  req.version(11);
  req.set(http::field::host, endpoint.host_header());
  for (const Header& header : request.headers) {
    req.set(header.first, header.second);
  }
  req.body() = request.body;
  req.prepare_payload();
  if (request.body.empty() && (request.method == "PUT" || request.method == "POST")) {
    req.set(http::field::content_length, "0");
  }
  run_step(ioc, [&](auto handler) { http::async_write(stream, req, std::move(handler)); });
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes);
  if (request.method == "HEAD") {
    parser.skip(true);
  }
  run_step(ioc,
           [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
  HttpResponse out;
  const auto& res = parser.get();
  out.status = res.result_int();
  for (const auto& field : res) {
    out.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  }
  out.body = res.body();
  return out;
}

}  // namespace

std::optional<Endpoint> Endpoint::parse(std::string_view url, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Endpoint> {
    if (error != nullptr) {
      *error = why;
    }
    return std::nullopt;
  };
  Endpoint out;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return fail("must start with http:// or https://");
  }
  if (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return fail("must be scheme://host[:port] without path, query or user");
  }
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return fail("unterminated IPv6 address");
    }
    out.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return fail("unexpected text after the IPv6 address");
      }
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      out.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
      if (out.host.find(':') != std::string::npos) {
        return fail("put an IPv6 address in brackets");
      }
    } else {
      out.host = std::string(rest);
    }
  }
  if (!valid_host(out.host)) {
    return fail("the host is missing or has invalid characters");
  }
  if (port_text.empty()) {
    out.port = out.tls ? 443 : 80;
  } else {
    unsigned long port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        return fail("the port must be a number from 1 to 65535");
      }
      port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port == 0 || port > 65535) {
      return fail("the port must be a number from 1 to 65535");
    }
    out.port = static_cast<unsigned short>(port);
  }
  return out;
}

std::string Endpoint::host_header() const {
  const std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if ((tls && port == 443) || (!tls && port == 80)) {
    return name;
  }
  return name + ":" + std::to_string(port);
}

std::string Endpoint::url() const {
  const std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return std::string(tls ? "https://" : "http://") + name + ":" + std::to_string(port);
}

HttpClient::HttpClient(Endpoint endpoint, TlsOptions tls, std::chrono::milliseconds timeout)
    : endpoint_(std::move(endpoint)), tls_(std::move(tls)), timeout_(timeout) {}

HttpResponse HttpClient::send(const HttpRequest& request) const {
  const std::string where = endpoint_.url();
  try {
    asio::io_context ioc;
    asio::ip::tcp::resolver resolver(ioc);
    const auto addresses = resolver.resolve(endpoint_.host, std::to_string(endpoint_.port));
    if (!endpoint_.tls) {
      beast::tcp_stream stream(ioc);
      stream.expires_after(timeout_);
      run_step(ioc, [&](auto handler) { stream.async_connect(addresses, std::move(handler)); });
      HttpResponse response = exchange(ioc, stream, endpoint_, request);
      beast::error_code ignored;
      stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      return response;
    }
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1);
    if (tls_.verify) {
      if (tls_.ca_file.empty()) {
        context.set_default_verify_paths();
      } else {
        context.load_verify_file(tls_.ca_file);
      }
      context.set_verify_mode(asio::ssl::verify_peer);
    } else {
      context.set_verify_mode(asio::ssl::verify_none);
    }
    beast::ssl_stream<beast::tcp_stream> stream(ioc, context);
    if (tls_.verify) {
      stream.set_verify_callback(asio::ssl::host_name_verification(endpoint_.host));
    }
    // SNI: servers with several certificates pick the right one by name (never sent for an
    // address, as RFC 6066 says).
    beast::error_code not_address;
    asio::ip::make_address(endpoint_.host, not_address);
    if (not_address &&
        SSL_set_tlsext_host_name(stream.native_handle(), endpoint_.host.c_str()) != 1) {
      throw TransportError("cannot set the TLS server name for " + where);
    }
    auto& tcp = beast::get_lowest_layer(stream);
    tcp.expires_after(timeout_);
    run_step(ioc, [&](auto handler) { tcp.async_connect(addresses, std::move(handler)); });
    run_step(ioc, [&](auto handler) {
      stream.async_handshake(asio::ssl::stream_base::client, std::move(handler));
    });
    HttpResponse response = exchange(ioc, stream, endpoint_, request);
    // The response is complete; a TLS close_notify is not waited for.
    beast::error_code ignored;
    tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return response;
  } catch (const TransportError&) {
    throw;
  } catch (const std::exception& e) {
    throw TransportError(where + ": " + e.what());
  }
}

std::string failure_description(const TransportError& error) {
  return std::string("the object storage server is unreachable (") + error.what() +
         "); the request can be retried once the server is available";
}

}  // namespace osbd_object_storage

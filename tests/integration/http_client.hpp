#pragma once

// A small synchronous HTTP/1.1 client over Boost.Beast for integration tests.

#include <map>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace osbd::test {

/// What a request returned.
struct HttpResult {
  unsigned status = 0;                         ///< HTTP status
  std::string body;                            ///< raw body
  std::map<std::string, std::string> headers;  ///< response headers by name
  /// The body as JSON (discarded value when it is not JSON).
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

/// Basic "user:password" in base64.
inline std::string basic_auth(const std::string& user, const std::string& password) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  unsigned val = 0;
  int bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(table[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) {
    out.push_back(table[((val << 8) >> (bits + 8)) & 0x3F]);
  }
  while (out.size() % 4 != 0) {
    out.push_back('=');
  }
  return "Basic " + out;
}

/// Sends one request on a fresh connection. Headers with an empty value are left out.
inline HttpResult http_request(unsigned short port, boost::beast::http::verb method,
                               const std::string& target, const std::string& body,
                               const std::map<std::string, std::string>& headers) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) {
    if (!v.empty()) {
      req.set(k, v);
    }
  }
  if (!body.empty() || method == http::verb::put || method == http::verb::patch) {
    req.body() = body;
    req.prepare_payload();
  }
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::error_code ec;
  http::read(stream, buffer, parser, ec);
  HttpResult out;
  if (ec) {
    out.status = 0;
    out.body = ec.message();
    return out;
  }
  auto res = parser.release();
  out.status = res.result_int();
  out.body = res.body();
  for (const auto& field : res) {
    out.headers[std::string(field.name_string())] = std::string(field.value());
  }
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace osbd::test

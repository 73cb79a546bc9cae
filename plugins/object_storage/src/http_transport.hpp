#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sigv4.hpp"

namespace osbd_object_storage {

/// Where a server listens, parsed from "http://host:port" or "https://host[:port]".
struct Endpoint {
  bool tls = false;         ///< https
  std::string host;         ///< name or address (an IPv6 literal without brackets)
  unsigned short port = 0;  ///< 80 / 443 unless given

  /// Parses url (scheme, host, optional port, nothing else but an optional trailing "/");
  /// nullopt with error set when it is not such a URL.
  static std::optional<Endpoint> parse(std::string_view url, std::string* error = nullptr);
  /// The Host header: host, plus ":port" unless it is the scheme's default.
  std::string host_header() const;
  /// "http://host:port" as configured (normalized).
  std::string url() const;
};

/// TLS settings of a client; ignored for http endpoints.
struct TlsOptions {
  bool verify = true;   ///< check the server's certificate chain and host name
  std::string ca_file;  ///< PEM bundle of trusted CAs ("" = the system's)
};

/// One HTTP request.
struct HttpRequest {
  std::string method;           ///< "GET", "PUT", "DELETE", "POST", "HEAD"
  std::string target;           ///< encoded path and query ("/bucket?policy")
  std::vector<Header> headers;  ///< sent as given (Host and Content-Length are added)
  std::string body;             ///< request body
};

/// One HTTP response.
struct HttpResponse {
  unsigned status = 0;                         ///< HTTP status
  std::map<std::string, std::string> headers;  ///< lowercased names
  std::string body;                            ///< whole body
};

/// A failure to exchange a request (connect, TLS, timeout, malformed response). Its message
/// names the endpoint and the cause, never a header or body.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What a failed broker call tells the platform about error (osb::plugins::guarded): a state of
/// the server, not of the request, so users learn that the same request can work later.
std::string failure_description(const TransportError& error);

/// A small synchronous HTTP/1.1 client over Boost.Beast, with OpenSSL TLS for https. Each call
/// uses its own connection, so one client is safe to use from several threads.
class HttpClient {
 public:
  /// A client for endpoint; every exchange must finish within timeout.
  HttpClient(Endpoint endpoint, TlsOptions tls, std::chrono::milliseconds timeout);

  /// Sends request and reads the whole response (bodies up to 64 MiB). Throws TransportError.
  HttpResponse send(const HttpRequest& request) const;

  /// The endpoint this client talks to.
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  Endpoint endpoint_;
  TlsOptions tls_;
  std::chrono::milliseconds timeout_;
};

}  // namespace osbd_object_storage

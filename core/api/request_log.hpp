#pragma once

// The reply side of an OSB request: its JSON response, and the log line and metrics sample
// written when it is sent. Internal to core/api.

#include <chrono>
#include <optional>
#include <string>

#include <boost/beast/http/verb.hpp>

#include "api/reply.hpp"
#include "http/types.hpp"

namespace osbd::api {

/// The header a platform names a request with; echoed in the response and logged.
inline constexpr const char* kRequestIdentity = "X-Broker-API-Request-Identity";

/// The HTTP response of an OSB reply: JSON, the request's identity echoed when it sent one.
http::Response to_response(const ApiReply& reply, unsigned version,
                           const std::string& request_identity);

/// The method as a metrics label: the OSB methods by name, anything else as OTHER, so that
/// requests (even unauthenticated ones) cannot create label values without bound.
const char* method_label(boost::beast::http::verb verb);

/// What a request's log line names besides the method, path and status.
struct RequestSubject {
  const char* route = "none";              ///< the OSB route ("none" when none matched)
  std::optional<std::string> catalog;      ///< a catalog other than the default one
  std::optional<std::string> instance_id;  ///< as the path gives it
  std::optional<std::string> binding_id;   ///< as the path gives it
};

/// One OSB request from its arrival to its reply: when the reply is sent, the request is counted
/// in the metrics (route, method, status, duration) and logged (error level for a 5xx, info
/// otherwise). Logs carry the path only: query strings are the platform's, ids are not secrets.
/// Copyable, so that the worker that answers may carry it; it is finished exactly once.
class RequestLog {
 public:
  RequestLog(const http::Request& request, std::chrono::steady_clock::time_point started,
             http::Reply reply);

  /// Names the route and ids of the request in what finish() writes.
  void set_subject(RequestSubject subject) { subject_ = std::move(subject); }

  /// Counts and logs r, then sends it.
  void finish(const ApiReply& r) const;
  /// Sends a response already counted (the catalog's).
  void send(http::Response&& response) const { reply_(std::move(response)); }

  const char* method_label() const noexcept { return label_; }
  std::chrono::steady_clock::time_point started() const noexcept { return started_; }

 private:
  http::Reply reply_;
  std::chrono::steady_clock::time_point started_;
  unsigned version_;
  std::string method_;
  const char* label_;
  std::string path_;
  std::string identity_;  // "" when the request brought none
  RequestSubject subject_;
};

}  // namespace osbd::api

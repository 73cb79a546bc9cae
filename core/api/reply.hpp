#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace osbd::api {

/// What an OSB handler answers, before it becomes an HTTP response.
struct ApiReply {
  unsigned status = 200;                                     ///< HTTP status code
  nlohmann::json body = nlohmann::json::object();            ///< JSON body
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers
  /// A body that is not JSON (CSV), sent as is with content_type instead of body; "" for JSON.
  std::string text;
  std::string content_type;  ///< of text
  /// True when the last thing the request did was a write reported durable: everything the reply
  /// rests on is durable then. Any other reply first waits until all the state store committed
  /// before it is durable, since what it read may be committed but not yet synced.
  bool durable = false;
};

/// r, marked as resting on a write reported durable (see ApiReply::durable).
inline ApiReply durable(ApiReply r) {
  r.durable = true;
  return r;
}

/// An OSB error body {"error": code, "description": text}; code may be "" to leave it out.
inline ApiReply error_reply(unsigned status, const std::string& code,
                            const std::string& description) {
  ApiReply r;
  r.status = status;
  if (!code.empty()) {
    r.body["error"] = code;
  }
  r.body["description"] = description;
  return r;
}

}  // namespace osbd::api

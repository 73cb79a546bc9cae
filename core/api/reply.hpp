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
};

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

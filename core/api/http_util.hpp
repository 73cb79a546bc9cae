#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/codec.hpp"

namespace osbd::api {

/// Decodes %XX escapes (and '+' as space when plus_is_space). nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

/// Splits a request target into decoded path segments and a decoded query map.
/// nullopt when an escape is malformed. Empty segments (from "//") are kept.
struct Target {
  std::vector<std::string> segments;         ///< "/v2/a/b" → {"v2", "a", "b"}
  std::map<std::string, std::string> query;  ///< last value wins for repeated keys
};
/// Parses a request target; nullopt on malformed percent-encoding.
std::optional<Target> parse_target(std::string_view target);

/// The OSB routes under a catalog's base path.
enum class Route {
  catalog,                  ///< /v2/catalog
  instance,                 ///< /v2/service_instances/:instance_id
  instance_last_operation,  ///< .../:instance_id/last_operation
  binding,                  ///< .../:instance_id/service_bindings/:binding_id
  binding_last_operation,   ///< .../:binding_id/last_operation
  none                      ///< anything else
};

/// The OSB route a path (its segments, without a /catalogs/NAME prefix) names, with its ids.
struct OsbPath {
  Route route = Route::none;
  std::string instance_id;  ///< of the instance and binding routes
  std::string binding_id;   ///< of the binding routes
  /// True for the routes with an :instance_id.
  bool has_instance() const noexcept { return route != Route::catalog && route != Route::none; }
  /// True for the routes with a :binding_id.
  bool has_binding() const noexcept {
    return route == Route::binding || route == Route::binding_last_operation;
  }
};
/// Matches decoded path segments against the OSB routes.
OsbPath match_osb_path(const std::vector<std::string>& segments);

using util::base64_decode;
using util::base64_encode;

/// Extracts user and password from an "Authorization: Basic ..." value.
std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header);

/// Compares what a client sent with a secret in time that depends only on the length of what was
/// sent: not on the secret, its length, or where the two differ.
bool constant_time_equal(std::string_view given, std::string_view expected) noexcept;

/// True for ids the broker accepts: 1 to 255 bytes of strictly valid UTF-8 (util::is_valid_utf8)
/// without control characters.
bool is_valid_id(std::string_view id) noexcept;

/// X-Broker-API-Originating-Identity, "PLATFORM BASE64(JSON object)", as
/// {"platform": ..., "value": {...}}; nullopt when malformed: no space, a platform that is not
/// UTF-8, bad base64, or a value that is not a JSON object (within util::kMaxJsonDepth).
std::optional<nlohmann::json> decode_originating_identity(std::string_view header);

}  // namespace osbd::api

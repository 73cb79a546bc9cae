#pragma once

// The operator console: static pages (core/ui/) served under /admin/ui/ behind the admin
// credentials. The pages only read the admin API (GET, from the browser, with the credentials it
// already holds); osbd serves them from memory, compiled in, so an installed osbd needs no file.

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace osbd::api {

/// One file of core/ui/, compiled into osbd (core/api/console_assets.cmake generates the table).
struct UiAsset {
  std::string_view name;          ///< file name, e.g. "index.html"
  std::string_view content_type;  ///< e.g. "text/html; charset=utf-8"
  std::string_view body;          ///< the file's bytes
  std::string_view etag;          ///< strong ETag: a hash of body, quoted
};

/// The asset of that file name, or null.
const UiAsset* find_ui_asset(std::string_view name);
/// Every asset, ordered by name.
std::span<const UiAsset> ui_assets();

/// The headers of every console response: a Content-Security-Policy that allows the console's own
/// script, style and API requests and nothing else (no inline code, no other origin, no framing),
/// no MIME sniffing, no Referer, and revalidation before any cached copy is used.
const std::vector<std::pair<std::string, std::string>>& console_security_headers();

/// What GET /admin/ui/NAME answers.
struct ConsoleReply {
  unsigned status = 200;  ///< 200, 304 (If-None-Match names its ETag) or 404 (no such asset)
  /// Content-Type, ETag and console_security_headers().
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  ///< the asset; "" for a 304; the OSB error JSON for a 404
};

/// The answer for the path after /admin/ui/ ("" is index.html) given the request's If-None-Match
/// ("" when absent).
ConsoleReply console_reply(std::string_view name, std::string_view if_none_match);

/// True when an If-None-Match value ("*", or a list of entity tags, weak or strong) matches etag
/// under the weak comparison RFC 9110 prescribes for If-None-Match.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace osbd::api

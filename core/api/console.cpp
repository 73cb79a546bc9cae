#include "api/console.hpp"

#include "api/reply.hpp"

namespace osbd::api {

namespace {

// Removes spaces and tabs at both ends.
std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& console_security_headers() {
  static const std::vector<std::pair<std::string, std::string>> kHeaders = {
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-cache"},
  };
  return kHeaders;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    const std::size_t comma = if_none_match.find(',');
    std::string_view tag = trim(if_none_match.substr(0, comma));
    if_none_match.remove_prefix(comma == std::string_view::npos ? if_none_match.size() : comma + 1);
    if (tag == "*") {
      return true;
    }
    if (tag.substr(0, 2) == "W/") {
      tag.remove_prefix(2);
    }
    if (!tag.empty() && tag == etag) {
      return true;
    }
  }
  return false;
}

ConsoleReply console_reply(std::string_view name, std::string_view if_none_match) {
  ConsoleReply r;
  r.headers = console_security_headers();
  const UiAsset* asset = find_ui_asset(name.empty() ? std::string_view("index.html") : name);
  if (asset == nullptr) {
    r.status = 404;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = error_reply(404, "NotFound",
                         "no such console page: /admin/ui/" + std::string(name) +
                             " (the console starts at /admin/ui/)")
                 .body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }
  r.headers.emplace_back("ETag", std::string(asset->etag));
  if (etag_matches(if_none_match, asset->etag)) {
    r.status = 304;
    return r;
  }
  r.headers.emplace_back("Content-Type", std::string(asset->content_type));
  r.body = std::string(asset->body);
  return r;
}

}  // namespace osbd::api

#include "api/http_util.hpp"

#include <cctype>

#include "util/codec.hpp"
#include "util/json_parse.hpp"
#include "util/utf8.hpp"

namespace osbd::api {
namespace {

using osbd::util::hex_value;

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<Target> parse_target(std::string_view target) {
  Target out;
  const auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  if (path.empty() || path.front() != '/') {
    return std::nullopt;
  }
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    auto segment = percent_decode(path.substr(0, slash), false);
    if (!segment) {
      return std::nullopt;
    }
    out.segments.push_back(std::move(*segment));
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  if (qpos != std::string_view::npos) {
    std::string_view query = target.substr(qpos + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      if (!pair.empty()) {
        const auto eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq), true);
        auto value = percent_decode(
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
        if (!key || !value) {
          return std::nullopt;
        }
        out.query[*key] = std::move(*value);
      }
      if (amp == std::string_view::npos) {
        break;
      }
      query.remove_prefix(amp + 1);
    }
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> parse_basic_auth(std::string_view header) {
  constexpr std::string_view kScheme = "Basic ";
  if (header.size() <= kScheme.size()) {
    return std::nullopt;
  }
  // The scheme name is case-insensitive (RFC 7617).
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return std::nullopt;
    }
  }
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') {
    header.remove_prefix(1);
  }
  auto decoded = base64_decode(header);
  if (!decoded) {
    return std::nullopt;
  }
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

bool constant_time_equal(std::string_view given, std::string_view expected) noexcept {
  // The time depends only on given's length (which the client chose), never on expected's
  // content or on where the two differ. No hashing: this runs on every request.
  unsigned diff = given.size() == expected.size() ? 0u : 1u;
  const std::size_t n = expected.size();
  for (std::size_t i = 0; i < given.size(); ++i) {
    const unsigned char e = n == 0 ? 0 : static_cast<unsigned char>(expected[i % n]);
    diff |= static_cast<unsigned>(static_cast<unsigned char>(given[i]) ^ e);
  }
  return diff == 0;
}

bool is_valid_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 255) {
    return false;
  }
  for (const char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return false;
    }
  }
  return util::is_valid_utf8(id);
}

std::optional<nlohmann::json> decode_originating_identity(std::string_view header) {
  const auto space = header.find(' ');
  if (space == std::string_view::npos || space == 0) {
    return std::nullopt;
  }
  const std::string_view platform = header.substr(0, space);
  if (!util::is_valid_utf8(platform)) {
    return std::nullopt;
  }
  const auto decoded = base64_decode(header.substr(space + 1));
  if (!decoded) {
    return std::nullopt;
  }
  auto value = util::parse_json(*decoded);
  if (!value || !value->is_object()) {
    return std::nullopt;
  }
  return nlohmann::json{{"platform", std::string(platform)}, {"value", std::move(*value)}};
}

OsbPath match_osb_path(const std::vector<std::string>& s) {
  // /v2/service_instances/:instance_id/service_bindings/:binding_id/last_operation
  enum Segment : std::size_t { kVersion, kCollection, kInstanceId, kSub, kBindingId, kBindingSub };
  OsbPath path;
  if (s.size() == 2 && s[kVersion] == "v2" && s[kCollection] == "catalog") {
    path.route = Route::catalog;
    return path;
  }
  if (s.size() <= kInstanceId || s[kVersion] != "v2" || s[kCollection] != "service_instances") {
    return path;
  }
  const bool bindings = s.size() > kBindingId && s[kSub] == "service_bindings";
  if (s.size() == kInstanceId + 1) {
    path.route = Route::instance;
  } else if (s.size() == kSub + 1 && s[kSub] == "last_operation") {
    path.route = Route::instance_last_operation;
  } else if (s.size() == kBindingId + 1 && bindings) {
    path.route = Route::binding;
  } else if (s.size() == kBindingSub + 1 && bindings && s[kBindingSub] == "last_operation") {
    path.route = Route::binding_last_operation;
  } else {
    return path;
  }
  path.instance_id = s[kInstanceId];
  if (path.has_binding()) {
    path.binding_id = s[kBindingId];
  }
  return path;
}

}  // namespace osbd::api

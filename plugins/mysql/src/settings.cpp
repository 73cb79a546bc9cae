#include "settings.hpp"

#include <utility>

#include <osb/plugins/config.hpp>
#include <osb/sdk/config.hpp>

#include "names.hpp"

namespace osbd_mysql {

namespace {

using osb::plugins::integer_in;
using osb::sdk::ConfigReader;

constexpr std::int64_t max_quota_mb = std::int64_t{1} << 30;  // 1 PiB
constexpr std::int64_t max_connections = 1000000;

bool is_name_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > max_prefix_length || prefix[0] < 'a' || prefix[0] > 'z') {
    return false;
  }
  for (char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// The host part of an account: a host name, an address or a pattern with % and _, nothing that
// could leave the quoted literal it goes into (it is escaped by the driver as well).
bool is_user_host(std::string_view host) {
  if (host.empty() || host.size() > 255) {
    return false;
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == '%' || c == ':' || c == '/';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// The keys of a server beyond the common ones.
void read_server(ConfigReader& reader, ServerSettings& server) {
  const std::string tls = reader.string("tls", "disabled");
  if (tls == "disabled") {
    server.tls = TlsMode::disabled;
  } else if (tls == "required") {
    server.tls = TlsMode::required;
  } else if (tls == "verify_identity") {
    server.tls = TlsMode::verify_identity;
  } else {
    ConfigReader::fail("tls", "expected disabled, required or verify_identity");
  }
  server.tls_ca_file = reader.string("tls_ca_file");
  if (server.tls == TlsMode::verify_identity && server.tls_ca_file.empty()) {
    ConfigReader::fail("tls_ca_file", "missing: verify_identity needs the CA file");
  }
  server.user_host = reader.string("user_host", server.user_host);
  if (!is_user_host(server.user_host)) {
    ConfigReader::fail("user_host",
                       "a host name, address or pattern of letters, digits and . - _ % : /");
  }
}

// The keys of a plan beyond the common ones.
void read_plan(nlohmann::json& /*object*/, ConfigReader& reader, PlanSettings& plan) {
  plan.max_user_connections =
      integer_in(reader, "max_user_connections", plan.max_user_connections, 0, max_connections);
  plan.quota_mb = integer_in(reader, "quota_mb", plan.quota_mb, 0, max_quota_mb);
}

}  // namespace

Settings Settings::from_json(const nlohmann::json& config) {
  nlohmann::json object = osb::plugins::require_object(config);
  Settings settings;
  const nlohmann::json servers = osb::plugins::take_array(object, "servers");
  const nlohmann::json services = osb::plugins::take_array(object, "services");
  ConfigReader reader(object);
  settings.quota_check_interval =
      std::chrono::seconds(integer_in(reader, "quota_check_seconds", 10, 1, 86400));
  settings.name_prefix = reader.string("name_prefix", settings.name_prefix);
  if (!is_name_prefix(settings.name_prefix)) {
    ConfigReader::fail("name_prefix", "1 to " + std::to_string(max_prefix_length) +
                                          " lowercase letters, digits and '_', starting with a "
                                          "letter");
  }
  reader.reject_unknown_keys();
  settings.servers = osb::plugins::read_servers<ServerSettings>(servers, 3306, read_server);
  settings.services = osb::plugins::read_services<PlanSettings>(
      services, [&](std::string_view name) { return settings.server(name) != nullptr; }, read_plan);
  return settings;
}

}  // namespace osbd_mysql

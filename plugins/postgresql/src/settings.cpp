#include "settings.hpp"

#include <set>
#include <utility>

#include <osb/plugins/config.hpp>
#include <osb/sdk/config.hpp>
#include <osb/sdk/errors.hpp>

namespace osbd_postgresql {

namespace {

using osb::plugins::integer_in;
using osb::plugins::require_object;
using osb::plugins::take_array;
using osb::sdk::ConfigReader;

constexpr std::int64_t max_quota_mb = std::int64_t{1} << 30;  // 1 PiB
constexpr std::int64_t max_connection_limit = 1000000;

bool is_extension_name(std::string_view name) {
  if (name.empty() || name.size() > 63) {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool is_name_prefix(std::string_view prefix) {
  // PostgreSQL reserves role names starting with "pg_".
  if (prefix.empty() || prefix.size() > 16 || prefix[0] < 'a' || prefix[0] > 'z' ||
      prefix.rfind("pg_", 0) == 0) {
    return false;
  }
  for (char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// The keys of a server beyond the common ones.
void read_server(ConfigReader& reader, ServerSettings& server) {
  server.sslmode = reader.string("sslmode", server.sslmode);
  static const std::set<std::string, std::less<>> sslmodes{"disable", "allow",     "prefer",
                                                           "require", "verify-ca", "verify-full"};
  if (sslmodes.count(server.sslmode) == 0) {
    ConfigReader::fail("sslmode",
                       "expected disable, allow, prefer, require, verify-ca or verify-full");
  }
  server.sslrootcert = reader.string("sslrootcert");
  server.maintenance_database = reader.string("maintenance_database", server.maintenance_database);
  if (server.maintenance_database.empty()) {
    ConfigReader::fail("maintenance_database", "must not be empty");
  }
}

// The keys of a plan beyond the common ones.
void read_plan(nlohmann::json& object, ConfigReader& reader, PlanSettings& plan) {
  plan.extensions = osb::plugins::take_string_list(object, "extensions");
  plan.connection_limit =
      integer_in(reader, "connection_limit", plan.connection_limit, -1, max_connection_limit);
  plan.quota_mb = integer_in(reader, "quota_mb", plan.quota_mb, 0, max_quota_mb);
  for (std::size_t i = 0; i < plan.extensions.size(); ++i) {
    if (!is_extension_name(plan.extensions[i])) {
      ConfigReader::fail("extensions[" + std::to_string(i) + "]",
                         "an extension name of lowercase letters, digits, '_' and '-'");
    }
  }
}

}  // namespace

Settings Settings::from_json(const nlohmann::json& config) {
  nlohmann::json object = require_object(config);
  Settings settings;
  const nlohmann::json servers = take_array(object, "servers");
  const nlohmann::json services = take_array(object, "services");
  ConfigReader reader(object);
  settings.quota_check_interval =
      std::chrono::seconds(integer_in(reader, "quota_check_seconds", 10, 1, 86400));
  settings.name_prefix = reader.string("name_prefix", settings.name_prefix);
  if (!is_name_prefix(settings.name_prefix)) {
    ConfigReader::fail(
        "name_prefix",
        "1 to 16 lowercase letters, digits and '_', starting with a letter, not \"pg_\"");
  }
  reader.reject_unknown_keys();

  settings.servers = osb::plugins::read_servers<ServerSettings>(servers, 5432, read_server);
  settings.services = osb::plugins::read_services<PlanSettings>(
      services, [&](std::string_view name) { return settings.server(name) != nullptr; }, read_plan);
  return settings;
}

}  // namespace osbd_postgresql

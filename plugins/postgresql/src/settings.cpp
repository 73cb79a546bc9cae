#include "settings.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include <osb/sdk/config.hpp>
#include <osb/sdk/errors.hpp>

namespace osbd_postgresql {

namespace {

using osb::sdk::ConfigError;
using osb::sdk::ConfigReader;

constexpr std::int64_t max_quota_mb = std::int64_t{1} << 30;  // 1 PiB
constexpr std::int64_t max_connection_limit = 1000000;

// Runs read and prefixes the key of any ConfigError it throws with path, so that an error deep
// in the tree names the whole way to it ("services[0].plans[1].quota_mb: ...").
template <typename F>
auto at_path(const std::string& path, F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const ConfigError& e) {
    throw ConfigError(path + "." + e.what());
  }
}

bool is_cli_friendly(std::string_view name) {
  if (name.empty() || name.size() > 255) {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

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

// Removes key from object and returns its value: an array (empty when the key is absent).
// ConfigReader has no accessor for arrays, so arrays are taken out before it sees the object.
nlohmann::json take_array(nlohmann::json& object, const std::string& key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (it != object.end()) {
      object.erase(it);
    }
    return nlohmann::json::array();
  }
  nlohmann::json value = std::move(*it);
  object.erase(key);
  if (!value.is_array()) {
    ConfigReader::fail(key, "expected a list");
  }
  return value;
}

std::vector<std::string> take_string_list(nlohmann::json& object, const std::string& key) {
  std::vector<std::string> out;
  const nlohmann::json list = take_array(object, key);
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string() || list[i].get_ref<const std::string&>().empty()) {
      ConfigReader::fail(key + "[" + std::to_string(i) + "]", "expected a non-empty string");
    }
    out.push_back(list[i].get<std::string>());
  }
  return out;
}

nlohmann::json require_object(const nlohmann::json& value) {
  if (!value.is_object()) {
    throw ConfigError("expected a mapping");
  }
  return value;
}

std::int64_t integer_in(ConfigReader& reader, const char* key, std::int64_t fallback,
                        std::int64_t min, std::int64_t max) {
  const std::int64_t value = reader.integer(key, fallback);
  if (value < min || value > max) {
    ConfigReader::fail(
        key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

std::string read_password_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigReader::fail("admin_password_file", "cannot read \"" + path + "\"");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.empty()) {
    ConfigReader::fail("admin_password_file", "\"" + path + "\" is empty");
  }
  return secret;
}

ServerSettings read_server(const nlohmann::json& config) {
  const nlohmann::json object = require_object(config);
  ConfigReader reader(object);
  ServerSettings server;
  server.name = reader.required_string("name");
  if (!is_cli_friendly(server.name)) {
    ConfigReader::fail("name", "use letters, digits, '-', '.' and '_'");
  }
  server.host = reader.required_string("host");
  server.port = integer_in(reader, "port", 5432, 1, 65535);
  server.admin_user = reader.required_string("admin_user");
  const bool has_password = reader.has("admin_password");
  const bool has_file = reader.has("admin_password_file");
  if (has_password && has_file) {
    ConfigReader::fail("admin_password_file",
                       "give admin_password or admin_password_file, not both");
  }
  if (has_file) {
    server.admin_password = read_password_file(reader.required_string("admin_password_file"));
  } else if (has_password) {
    server.admin_password = reader.required_string("admin_password");
  } else {
    ConfigReader::fail("admin_password", "missing (or give admin_password_file)");
  }
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
  server.connect_timeout_seconds = integer_in(reader, "connect_timeout_seconds", 5, 1, 300);
  server.public_host = reader.string("public_host");
  server.public_port = integer_in(reader, "public_port", 0, 0, 65535);
  reader.reject_unknown_keys();
  return server;
}

PlanSettings read_plan(const nlohmann::json& config, const Settings& settings) {
  nlohmann::json object = require_object(config);
  PlanSettings plan;
  plan.servers = take_string_list(object, "servers");
  plan.extensions = take_string_list(object, "extensions");
  ConfigReader reader(object);
  plan.id = reader.required_string("id");
  plan.name = reader.required_string("name");
  if (!is_cli_friendly(plan.name)) {
    ConfigReader::fail("name", "use letters, digits, '-', '.' and '_'");
  }
  plan.description = reader.required_string("description");
  if (plan.servers.empty()) {
    ConfigReader::fail("servers", "list at least one server name");
  }
  for (std::size_t i = 0; i < plan.servers.size(); ++i) {
    if (settings.server(plan.servers[i]) == nullptr) {
      ConfigReader::fail("servers[" + std::to_string(i) + "]",
                         "no server is called \"" + plan.servers[i] + "\"");
    }
  }
  plan.connection_limit =
      integer_in(reader, "connection_limit", plan.connection_limit, -1, max_connection_limit);
  plan.quota_mb = integer_in(reader, "quota_mb", plan.quota_mb, 0, max_quota_mb);
  for (std::size_t i = 0; i < plan.extensions.size(); ++i) {
    if (!is_extension_name(plan.extensions[i])) {
      ConfigReader::fail("extensions[" + std::to_string(i) + "]",
                         "an extension name of lowercase letters, digits, '_' and '-'");
    }
  }
  if (reader.has("bindable")) {
    plan.bindable = reader.boolean("bindable", true);
  }
  plan.free = reader.boolean("free", true);
  plan.metadata = reader.object("metadata");
  reader.reject_unknown_keys();
  return plan;
}

ServiceSettings read_service(const nlohmann::json& config, const Settings& settings) {
  nlohmann::json object = require_object(config);
  ServiceSettings service;
  const nlohmann::json plans = take_array(object, "plans");
  service.tags = take_string_list(object, "tags");
  ConfigReader reader(object);
  service.id = reader.required_string("id");
  service.name = reader.required_string("name");
  if (!is_cli_friendly(service.name)) {
    ConfigReader::fail("name", "use letters, digits, '-', '.' and '_'");
  }
  service.description = reader.required_string("description");
  service.bindable = reader.boolean("bindable", true);
  service.plan_updateable = reader.boolean("plan_updateable", true);
  service.metadata = reader.object("metadata");
  reader.reject_unknown_keys();
  if (plans.empty()) {
    ConfigReader::fail("plans", "list at least one plan");
  }
  std::set<std::string, std::less<>> plan_names;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const std::string path = "plans[" + std::to_string(i) + "]";
    PlanSettings plan = at_path(path, [&] { return read_plan(plans[i], settings); });
    if (!plan_names.insert(plan.name).second) {
      ConfigReader::fail(path + ".name", "\"" + plan.name + "\" is used by another plan");
    }
    service.plans.push_back(std::move(plan));
  }
  return service;
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

  for (std::size_t i = 0; i < servers.size(); ++i) {
    const std::string path = "servers[" + std::to_string(i) + "]";
    ServerSettings server = at_path(path, [&] { return read_server(servers[i]); });
    if (settings.server(server.name) != nullptr) {
      ConfigReader::fail(path + ".name", "\"" + server.name + "\" is used by another server");
    }
    settings.servers.push_back(std::move(server));
  }

  std::set<std::string, std::less<>> ids;
  std::set<std::string, std::less<>> service_names;
  for (std::size_t i = 0; i < services.size(); ++i) {
    const std::string path = "services[" + std::to_string(i) + "]";
    ServiceSettings service = at_path(path, [&] { return read_service(services[i], settings); });
    if (!service_names.insert(service.name).second) {
      ConfigReader::fail(path + ".name", "\"" + service.name + "\" is used by another service");
    }
    if (!ids.insert(service.id).second) {
      ConfigReader::fail(path + ".id", "\"" + service.id + "\" is used more than once");
    }
    for (std::size_t j = 0; j < service.plans.size(); ++j) {
      if (!ids.insert(service.plans[j].id).second) {
        ConfigReader::fail(path + ".plans[" + std::to_string(j) + "].id",
                           "\"" + service.plans[j].id + "\" is used more than once");
      }
    }
    settings.services.push_back(std::move(service));
  }
  return settings;
}

const ServerSettings* Settings::server(std::string_view name) const {
  for (const ServerSettings& server : servers) {
    if (server.name == name) {
      return &server;
    }
  }
  return nullptr;
}

std::optional<PlanRef> Settings::plan(std::string_view plan_id) const {
  for (const ServiceSettings& service : services) {
    for (const PlanSettings& plan : service.plans) {
      if (plan.id == plan_id) {
        return PlanRef{&service, &plan};
      }
    }
  }
  return std::nullopt;
}

}  // namespace osbd_postgresql

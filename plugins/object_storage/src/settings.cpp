#include "settings.hpp"

#include <set>

#include <osb/plugins/config.hpp>
#include <osb/sdk/config.hpp>
#include <osb/sdk/errors.hpp>

#include "names.hpp"

namespace osbd_object_storage {

using osb::plugins::at_path;
using osb::sdk::ConfigReader;

namespace {

std::vector<std::string> strings_at(nlohmann::json& object, const std::string& key) {
  return osb::plugins::take_string_list(object, key);
}

bool is_cli_friendly(const std::string& name) {
  return osb::plugins::is_cli_friendly(name);
}

PlanSettings read_plan(const nlohmann::json& value) {
  nlohmann::json object = osb::plugins::require_object(value);
  ConfigReader reader(object);
  PlanSettings plan;
  plan.id = reader.required_string("id");
  plan.name = reader.required_string("name");
  if (!is_cli_friendly(plan.name)) {
    ConfigReader::fail("name", "use letters, digits, '-', '.' and '_'");
  }
  plan.description = reader.required_string("description");
  plan.free = reader.boolean("free", true);
  if (reader.has("bindable")) {
    plan.bindable = reader.boolean("bindable", true);
  }
  plan.metadata = reader.object("metadata");
  // Up to 1 PiB and 10^12 objects: beyond any real plan, and far from overflowing.
  plan.max_size_mb = osb::plugins::integer_in(reader, "max_size_mb", 0, 0, 1LL << 30);
  plan.max_objects = osb::plugins::integer_in(reader, "max_objects", 0, 0, 1000000000000LL);
  plan.delete_non_empty = reader.boolean("delete_non_empty", true);
  reader.reject_unknown_keys();
  return plan;
}

ServiceSettings read_service(const nlohmann::json& value) {
  nlohmann::json object = osb::plugins::require_object(value);
  const nlohmann::json plans = osb::plugins::take_array(object, "plans");
  ServiceSettings service;
  service.tags = strings_at(object, "tags");
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
  std::set<std::string> names;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const std::string path = "plans[" + std::to_string(i) + "]";
    service.plans.push_back(at_path(path, [&] { return read_plan(plans[i]); }));
    if (!names.insert(service.plans.back().name).second) {
      ConfigReader::fail(path + ".name",
                         "\"" + service.plans.back().name + "\" is used by another plan");
    }
  }
  return service;
}

}  // namespace

Quota PlanSettings::quota() const {
  Quota quota;
  if (max_size_mb > 0) {
    quota.max_bytes = max_size_mb * 1024 * 1024;
  }
  if (max_objects > 0) {
    quota.max_objects = max_objects;
  }
  return quota;
}

Settings Settings::from_json(const nlohmann::json& config) {
  Settings settings;
  if (config.is_null() || (config.is_object() && config.empty())) {
    return settings;  // loads and offers nothing
  }
  nlohmann::json object = config;
  if (!object.is_object()) {
    throw osb::sdk::ConfigError("configuration: expected a mapping");
  }
  const nlohmann::json services = osb::plugins::take_array(object, "services");
  ConfigReader reader(object);

  const std::string endpoint = reader.required_string("endpoint");
  std::string why;
  std::optional<Endpoint> parsed = Endpoint::parse(endpoint, &why);
  if (!parsed) {
    ConfigReader::fail("endpoint", why);
  }
  settings.endpoint = *parsed;
  settings.public_endpoint = reader.string("public_endpoint", endpoint);
  if (!Endpoint::parse(settings.public_endpoint, &why)) {
    ConfigReader::fail("public_endpoint", why);
  }
  while (!settings.public_endpoint.empty() && settings.public_endpoint.back() == '/') {
    settings.public_endpoint.pop_back();
  }
  settings.region = reader.string("region", "us-east-1");
  const bool region_ok = !settings.region.empty() && settings.region.size() <= 32 &&
                         settings.region.find_first_not_of(
                             "abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
  if (!region_ok) {
    ConfigReader::fail("region", "use 1-32 characters of a-z, 0-9 and '-'");
  }
  settings.admin.access_key_id = osb::plugins::read_secret(reader, "admin_access_key");
  settings.admin.secret_access_key = osb::plugins::read_secret(reader, "admin_secret_key");
  settings.tls.verify = reader.boolean("tls_verify", true);
  settings.tls.ca_file = reader.string("ca_file", "");
  settings.timeout =
      std::chrono::seconds(osb::plugins::integer_in(reader, "timeout_seconds", 10, 1, 300));
  settings.name_prefix = reader.string("name_prefix", "osb-");
  if (!is_valid_name_prefix(settings.name_prefix)) {
    ConfigReader::fail("name_prefix",
                       "use 1-16 characters of a-z, 0-9 and '-', starting with a letter or digit");
  }
  reader.reject_unknown_keys();

  std::set<std::string> ids;
  std::set<std::string> names;
  for (std::size_t i = 0; i < services.size(); ++i) {
    const std::string path = "services[" + std::to_string(i) + "]";
    settings.services.push_back(at_path(path, [&] { return read_service(services[i]); }));
    const ServiceSettings& service = settings.services.back();
    if (!names.insert(service.name).second) {
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
  }
  return settings;
}

std::optional<PlanRef> Settings::plan(const std::string& plan_id,
                                      const std::string& service_id) const {
  for (const ServiceSettings& service : services) {
    for (const PlanSettings& plan : service.plans) {
      if (plan.id == plan_id) {
        if (!service_id.empty() && service.id != service_id) {
          return std::nullopt;
        }
        return PlanRef{&service, &plan};
      }
    }
  }
  return std::nullopt;
}

}  // namespace osbd_object_storage

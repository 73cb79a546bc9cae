#include "osb/plugins/offerings.hpp"

namespace osb::plugins {

using osb::sdk::ConfigReader;

void read_plan_info(nlohmann::json& object, ConfigReader& reader, PlanInfo& plan,
                    const ServerExists& server_exists) {
  plan.servers = take_string_list(object, "servers");
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
    if (!server_exists(plan.servers[i])) {
      ConfigReader::fail("servers[" + std::to_string(i) + "]",
                         "no server is called \"" + plan.servers[i] + "\"");
    }
  }
  if (reader.has("bindable")) {
    plan.bindable = reader.boolean("bindable", true);
  }
  plan.free = reader.boolean("free", true);
  plan.metadata = reader.object("metadata");
}

void read_service_info(nlohmann::json& object, ConfigReader& reader, ServiceInfo& service) {
  service.tags = take_string_list(object, "tags");
  service.id = reader.required_string("id");
  service.name = reader.required_string("name");
  if (!is_cli_friendly(service.name)) {
    ConfigReader::fail("name", "use letters, digits, '-', '.' and '_'");
  }
  service.description = reader.required_string("description");
  service.bindable = reader.boolean("bindable", true);
  service.plan_updateable = reader.boolean("plan_updateable", true);
  service.metadata = reader.object("metadata");
}

void check_unique(const std::vector<const ServiceInfo*>& services,
                  const std::vector<std::vector<const PlanInfo*>>& plans) {
  std::set<std::string, std::less<>> ids;
  std::set<std::string, std::less<>> names;
  for (std::size_t i = 0; i < services.size(); ++i) {
    const std::string path = "services[" + std::to_string(i) + "]";
    if (!names.insert(services[i]->name).second) {
      ConfigReader::fail(path + ".name",
                         "\"" + services[i]->name + "\" is used by another service");
    }
    if (!ids.insert(services[i]->id).second) {
      ConfigReader::fail(path + ".id", "\"" + services[i]->id + "\" is used more than once");
    }
    for (std::size_t j = 0; j < plans[i].size(); ++j) {
      if (!ids.insert(plans[i][j]->id).second) {
        ConfigReader::fail(path + ".plans[" + std::to_string(j) + "].id",
                           "\"" + plans[i][j]->id + "\" is used more than once");
      }
    }
  }
}

nlohmann::json catalog_plan(const PlanInfo& plan, nlohmann::json bullets,
                            nlohmann::json parameters_schema) {
  const nlohmann::json schema = {{"parameters", std::move(parameters_schema)}};
  nlohmann::json metadata = {{"displayName", plan.name}, {"bullets", std::move(bullets)}};
  metadata.update(plan.metadata);
  nlohmann::json out = {
      {"id", plan.id},
      {"name", plan.name},
      {"description", plan.description},
      {"free", plan.free},
      {"metadata", std::move(metadata)},
      {"schemas", {{"service_instance", {{"create", schema}, {"update", schema}}}}}};
  if (plan.bindable) {
    out["bindable"] = *plan.bindable;
  }
  return out;
}

nlohmann::json catalog_service(const ServiceInfo& service, nlohmann::json plans,
                               const nlohmann::json& default_tags) {
  nlohmann::json metadata = {{"displayName", service.name},
                             {"longDescription", service.description},
                             {"providerDisplayName", "osbd"}};
  metadata.update(service.metadata);
  return {{"id", service.id},
          {"name", service.name},
          {"description", service.description},
          {"bindable", service.bindable},
          {"instances_retrievable", true},
          {"bindings_retrievable", true},
          {"plan_updateable", service.plan_updateable},
          {"tags", service.tags.empty() ? default_tags : nlohmann::json(service.tags)},
          {"metadata", std::move(metadata)},
          {"plans", std::move(plans)}};
}

}  // namespace osb::plugins

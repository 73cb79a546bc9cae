#include "catalog.hpp"

#include <algorithm>
#include <utility>

namespace osbd_postgresql {

namespace {

constexpr std::size_t max_extensions = 64;

// The JSON Schema (draft-04) of the parameters of create and update; the plugin checks the
// same rules itself in read_instance_parameters.
nlohmann::json parameters_schema(const PlanSettings& plan) {
  nlohmann::json extensions = {{"type", "array"},
                               {"uniqueItems", true},
                               {"items", {{"type", "string"}, {"enum", plan.extensions}}},
                               {"description", "PostgreSQL extensions to create in the database"}};
  if (plan.extensions.empty()) {
    extensions["maxItems"] = 0;
    extensions["items"].erase("enum");
  }
  return {{"$schema", "http://json-schema.org/draft-04/schema#"},
          {"type", "object"},
          {"additionalProperties", false},
          {"properties", {{"extensions", std::move(extensions)}}}};
}

nlohmann::json plan_bullets(const PlanSettings& plan) {
  nlohmann::json bullets = nlohmann::json::array();
  bullets.push_back("A dedicated PostgreSQL database");
  bullets.push_back(plan.quota_mb > 0 ? "Storage quota " + std::to_string(plan.quota_mb) + " MB"
                                      : std::string("No storage quota"));
  bullets.push_back(plan.connection_limit >= 0
                        ? "Up to " + std::to_string(plan.connection_limit) + " connections"
                        : std::string("No connection limit"));
  return bullets;
}

}  // namespace

nlohmann::json make_catalog(const Settings& settings) {
  nlohmann::json services = nlohmann::json::array();
  for (const ServiceSettings& service : settings.services) {
    nlohmann::json plans = nlohmann::json::array();
    for (const PlanSettings& plan : service.plans) {
      plans.push_back(
          osb::plugins::catalog_plan(plan, plan_bullets(plan), parameters_schema(plan)));
    }
    services.push_back(osb::plugins::catalog_service(service, std::move(plans),
                                                     {"postgresql", "relational", "sql"}));
  }
  return {{"services", std::move(services)}};
}

InstanceParameters read_instance_parameters(const nlohmann::json& parameters,
                                            const PlanSettings& plan) {
  InstanceParameters result;
  if (!parameters.is_object()) {
    result.error = "parameters must be an object";
    return result;
  }
  for (const auto& item : parameters.items()) {
    if (item.key() != "extensions") {
      result.error =
          "unknown parameter \"" + item.key() + "\"; this service accepts only \"extensions\"";
      return result;
    }
    const nlohmann::json& list = item.value();
    if (!list.is_array() || list.size() > max_extensions) {
      result.error = "parameter \"extensions\" must be a list of extension names";
      return result;
    }
    for (const nlohmann::json& name : list) {
      const bool allowed = name.is_string() &&
                           std::find(plan.extensions.begin(), plan.extensions.end(),
                                     name.get_ref<const std::string&>()) != plan.extensions.end();
      if (!allowed) {
        std::string allowed_list;
        for (const std::string& extension : plan.extensions) {
          allowed_list += (allowed_list.empty() ? "" : ", ") + extension;
        }
        result.error = "parameter \"extensions\": the plan \"" + plan.name + "\" allows " +
                       (allowed_list.empty() ? std::string("no extensions") : allowed_list);
        return result;
      }
      const std::string& extension = name.get_ref<const std::string&>();
      if (std::find(result.extensions.begin(), result.extensions.end(), extension) ==
          result.extensions.end()) {
        result.extensions.push_back(extension);
      }
    }
  }
  return result;
}

}  // namespace osbd_postgresql

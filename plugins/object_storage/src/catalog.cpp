#include "catalog.hpp"

#include <string>

namespace osbd_object_storage {

namespace {

nlohmann::json plan_bullets(const PlanSettings& plan) {
  nlohmann::json bullets = nlohmann::json::array();
  bullets.push_back(plan.max_size_mb > 0 ? "Up to " + std::to_string(plan.max_size_mb) + " MB"
                                         : std::string("No size limit"));
  bullets.push_back(plan.max_objects > 0 ? "Up to " + std::to_string(plan.max_objects) + " objects"
                                         : std::string("No limit on the number of objects"));
  bullets.push_back("One bucket; a key of its own for each binding");
  return bullets;
}

nlohmann::json catalog_plan(const PlanSettings& plan) {
  nlohmann::json metadata = {{"displayName", plan.name}, {"bullets", plan_bullets(plan)}};
  metadata.update(plan.metadata);
  const nlohmann::json instance = {{"parameters", instance_parameters_schema()}};
  nlohmann::json out = {
      {"id", plan.id},
      {"name", plan.name},
      {"description", plan.description},
      {"free", plan.free},
      {"metadata", metadata},
      {"schemas",
       {{"service_instance", {{"create", instance}, {"update", instance}}},
        {"service_binding", {{"create", {{"parameters", binding_parameters_schema()}}}}}}}};
  if (plan.bindable) {
    out["bindable"] = *plan.bindable;
  }
  return out;
}

}  // namespace

nlohmann::json instance_parameters_schema() {
  return {
      {"$schema", "http://json-schema.org/draft-04/schema#"},
      {"type", "object"},
      {"properties",
       {{"protect_non_empty",
         {{"type", "boolean"},
          {"description", "Refuse to deprovision the instance while its bucket holds objects"}}}}},
      {"additionalProperties", false}};
}

nlohmann::json binding_parameters_schema() {
  return {{"$schema", "http://json-schema.org/draft-04/schema#"},
          {"type", "object"},
          {"properties",
           {{"access",
             {{"type", "string"},
              {"enum", {"read-write", "read-only"}},
              {"description", "What the binding's key may do in the bucket (read-write)"}}}}},
          {"additionalProperties", false}};
}

nlohmann::json make_catalog(const Settings& settings) {
  nlohmann::json services = nlohmann::json::array();
  for (const ServiceSettings& service : settings.services) {
    nlohmann::json plans = nlohmann::json::array();
    for (const PlanSettings& plan : service.plans) {
      plans.push_back(catalog_plan(plan));
    }
    nlohmann::json metadata = {{"displayName", service.name},
                               {"longDescription", service.description},
                               {"providerDisplayName", "osbd"}};
    metadata.update(service.metadata);
    services.push_back(
        {{"id", service.id},
         {"name", service.name},
         {"description", service.description},
         {"bindable", service.bindable},
         {"instances_retrievable", true},
         {"bindings_retrievable", true},
         {"plan_updateable", service.plan_updateable},
         {"tags", service.tags.empty() ? nlohmann::json({"s3", "object-storage", "bucket"})
                                       : nlohmann::json(service.tags)},
         {"metadata", metadata},
         {"plans", plans}});
  }
  return {{"services", services}};
}

}  // namespace osbd_object_storage

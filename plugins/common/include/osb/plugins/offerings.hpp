#pragma once

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <osb/sdk/config.hpp>

#include "osb/plugins/config.hpp"

// The operator's services and plans as a plugin's configuration lists them ("services"), and
// their OSB catalog. A plugin derives its plan type from PlanInfo and reads its own plan keys in
// a callback; everything else (ids, names, servers, catalog flags, duplicate checks, the
// catalog's shape) is shared.

namespace osb::plugins {

/// The keys every plan has (an element of "services[].plans").
struct PlanInfo {
  std::string id;                    ///< "id": a fixed GUID
  std::string name;                  ///< "name": CLI-friendly
  std::string description;           ///< "description"
  std::vector<std::string> servers;  ///< "servers": names of servers to place instances on
  std::optional<bool> bindable;      ///< "bindable": overrides the service's flag
  bool free = true;                  ///< "free"
  nlohmann::json metadata = nlohmann::json::object();  ///< "metadata": merged into the plan's
};

/// The keys every service has (an element of "services").
struct ServiceInfo {
  std::string id;                                      ///< "id": a fixed GUID
  std::string name;                                    ///< "name": CLI-friendly
  std::string description;                             ///< "description"
  bool bindable = true;                                ///< "bindable"
  bool plan_updateable = true;                         ///< "plan_updateable"
  std::vector<std::string> tags;                       ///< "tags"
  nlohmann::json metadata = nlohmann::json::object();  ///< "metadata": merged into the service's
};

/// A service with its plans (at least one), Plan being derived from PlanInfo.
template <typename Plan>
struct Service : ServiceInfo {
  std::vector<Plan> plans;  ///< "plans"
};

/// A plan together with its service; both point into the list they were found in.
template <typename Plan>
struct PlanRef {
  const Service<Plan>* service = nullptr;  ///< the plan's service
  const Plan* plan = nullptr;              ///< the plan
};

/// True when a server of that name is configured.
using ServerExists = std::function<bool(std::string_view)>;

/// Reads the PlanInfo keys of object through reader (servers must name known servers).
void read_plan_info(nlohmann::json& object, osb::sdk::ConfigReader& reader, PlanInfo& plan,
                    const ServerExists& server_exists);

/// Reads the ServiceInfo keys of object through reader.
void read_service_info(nlohmann::json& object, osb::sdk::ConfigReader& reader,
                       ServiceInfo& service);

/// ConfigError naming the first service name, service id or plan id used twice in services.
void check_unique(const std::vector<const ServiceInfo*>& services,
                  const std::vector<std::vector<const PlanInfo*>>& plans);

/// Reads the "services" list (config is the list). read_plan(object, reader, plan) reads a
/// plan's own keys (lists it takes out of object with take_array); unknown keys are refused.
template <typename Plan, typename ReadPlan>
std::vector<Service<Plan>> read_services(const nlohmann::json& config,
                                         const ServerExists& server_exists, ReadPlan&& read_plan) {
  std::vector<Service<Plan>> services;
  for (std::size_t i = 0; i < config.size(); ++i) {
    services.push_back(at_path("services[" + std::to_string(i) + "]", [&] {
      nlohmann::json object = require_object(config[i]);
      Service<Plan> service;
      const nlohmann::json plans = take_array(object, "plans");
      osb::sdk::ConfigReader reader(object);
      read_service_info(object, reader, service);
      reader.reject_unknown_keys();
      if (plans.empty()) {
        osb::sdk::ConfigReader::fail("plans", "list at least one plan");
      }
      std::set<std::string, std::less<>> names;
      for (std::size_t j = 0; j < plans.size(); ++j) {
        const std::string path = "plans[" + std::to_string(j) + "]";
        service.plans.push_back(at_path(path, [&] {
          nlohmann::json plan_object = require_object(plans[j]);
          Plan plan;
          osb::sdk::ConfigReader plan_reader(plan_object);
          read_plan_info(plan_object, plan_reader, plan, server_exists);
          read_plan(plan_object, plan_reader, plan);
          plan_reader.reject_unknown_keys();
          return plan;
        }));
        if (!names.insert(service.plans.back().name).second) {
          osb::sdk::ConfigReader::fail(
              path + ".name", "\"" + service.plans.back().name + "\" is used by another plan");
        }
      }
      return service;
    }));
  }
  std::vector<const ServiceInfo*> infos;
  std::vector<std::vector<const PlanInfo*>> plan_infos;
  for (const Service<Plan>& service : services) {
    infos.push_back(&service);
    plan_infos.emplace_back();
    for (const Plan& plan : service.plans) {
      plan_infos.back().push_back(&plan);
    }
  }
  check_unique(infos, plan_infos);
  return services;
}

/// The plan with plan_id among services, if it belongs to service_id (when that is not empty).
template <typename Plan>
std::optional<PlanRef<Plan>> find_plan(const std::vector<Service<Plan>>& services,
                                       std::string_view plan_id, std::string_view service_id = {}) {
  for (const Service<Plan>& service : services) {
    for (const Plan& plan : service.plans) {
      if (plan.id == plan_id) {
        if (!service_id.empty() && service.id != service_id) {
          return std::nullopt;
        }
        return PlanRef<Plan>{&service, &plan};
      }
    }
  }
  return std::nullopt;
}

/// The OSB catalog object of plan: metadata {displayName, bullets} merged with the plan's,
/// the same parameters schema for create and update, bindable when the plan overrides it.
nlohmann::json catalog_plan(const PlanInfo& plan, nlohmann::json bullets,
                            nlohmann::json parameters_schema);

/// The OSB catalog object of service with plans (catalog_plan objects); default_tags when the
/// configuration gives none. Instances and bindings are retrievable.
nlohmann::json catalog_service(const ServiceInfo& service, nlohmann::json plans,
                               const nlohmann::json& default_tags);

}  // namespace osb::plugins

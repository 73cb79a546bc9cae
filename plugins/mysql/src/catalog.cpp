#include "catalog.hpp"

#include <utility>

#include <osb/plugins/offerings.hpp>

namespace osbd_mysql {

namespace {

nlohmann::json plan_bullets(const PlanSettings& plan) {
  nlohmann::json bullets = nlohmann::json::array();
  bullets.push_back("A dedicated MySQL/MariaDB database (utf8mb4)");
  bullets.push_back(plan.quota_mb > 0 ? "Storage quota " + std::to_string(plan.quota_mb) + " MB"
                                      : std::string("No storage quota"));
  bullets.push_back(plan.max_user_connections > 0
                        ? "Up to " + std::to_string(plan.max_user_connections) +
                              " connections per binding"
                        : std::string("No connection limit"));
  return bullets;
}

}  // namespace

nlohmann::json make_catalog(const Settings& settings) {
  // Instances take no parameters: anything is refused before the plugin is called.
  const nlohmann::json no_parameters = {{"$schema", "http://json-schema.org/draft-04/schema#"},
                                        {"type", "object"},
                                        {"additionalProperties", false}};
  nlohmann::json services = nlohmann::json::array();
  for (const ServiceSettings& service : settings.services) {
    nlohmann::json plans = nlohmann::json::array();
    for (const PlanSettings& plan : service.plans) {
      plans.push_back(osb::plugins::catalog_plan(plan, plan_bullets(plan), no_parameters));
    }
    services.push_back(osb::plugins::catalog_service(service, std::move(plans),
                                                     {"mysql", "mariadb", "relational", "sql"}));
  }
  return {{"services", std::move(services)}};
}

}  // namespace osbd_mysql

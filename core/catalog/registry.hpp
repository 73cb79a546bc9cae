#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugin_host/plugin.hpp"
#include "schema/schema.hpp"
#include "state/store.hpp"

namespace osbd::catalog {

/// A catalog that cannot be served: the message names the plugin file(s) and the field.
class CatalogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One service plan with what the broker needs to route and check requests for it.
struct PlanEntry {
  nlohmann::json service;               ///< the service offering object (without plans)
  nlohmann::json plan;                  ///< the plan object
  plugin_host::PluginSharedPtr plugin;  ///< the plugin serving it
  /// Compiled schemas.service_instance.create.parameters (accepts anything when absent).
  schema::Schema instance_create_schema;
  /// Compiled schemas.service_instance.update.parameters (accepts anything when absent).
  schema::Schema instance_update_schema;
  /// Compiled schemas.service_binding.create.parameters (accepts anything when absent).
  schema::Schema binding_create_schema;

  /// Plan `bindable`, else the service's.
  bool bindable() const;
  /// Plan `plan_updateable`, else the service's, else false.
  bool plan_updateable() const;
  /// Plan `binding_rotatable`, default false.
  bool binding_rotatable() const;
  /// Service `allow_context_updates`, default false.
  bool allow_context_updates() const;
  /// Plan maintenance_info.version, "" if none.
  std::string maintenance_version() const;
  /// Plan maximum_polling_duration in seconds, 0 if none.
  int64_t maximum_polling_duration() const;
};

/// The merged, validated catalog of every loaded plugin; immutable once built.
class Registry {
 public:
  /// Asks each plugin for its catalog, validates it, and checks that service ids, service names
  /// and plan ids are unique across plugins. Throws CatalogError.
  static std::shared_ptr<const Registry> build(
      const std::vector<plugin_host::PluginSharedPtr>& plugins);

  /// The GET /v2/catalog body, serialized once.
  const std::string& body() const noexcept { return body_; }
  /// Strong entity tag of body().
  const std::string& etag() const noexcept { return etag_; }
  /// The plan, or nullptr when the service or plan id is unknown or they do not belong together.
  const PlanEntry* find_plan(const std::string& service_id, const std::string& plan_id) const;
  /// True if a service with this id exists.
  bool has_service(const std::string& service_id) const;
  /// The plugin offering the service, or nullptr when no loaded plugin does.
  plugin_host::PluginSharedPtr plugin_of_service(const std::string& service_id) const;
  /// The service objects (with plans) that plugin contributes, in load order.
  std::vector<const nlohmann::json*> services_of(const plugin_host::Plugin& plugin) const;
  /// Instances per plugin name, from the store's counts per plan; plans no loaded plugin offers
  /// are left out.
  std::map<std::string, int64_t> instances_per_plugin(
      const std::vector<state::Store::PlanInstances>& plans) const;
  /// The loaded plugin with this name, or nullptr.
  plugin_host::PluginSharedPtr plugin_named(const std::string& name) const;
  /// Every service offering with its plans, as the plugins gave them, in load order.
  const nlohmann::json& services() const noexcept { return services_; }
  /// The loaded plugins, in load order.
  const std::vector<plugin_host::PluginSharedPtr>& plugins() const noexcept { return plugins_; }

 private:
  std::vector<plugin_host::PluginSharedPtr> plugins_;
  std::map<std::pair<std::string, std::string>, PlanEntry> plans_;
  std::map<std::string, std::string> service_files_;
  nlohmann::json services_ = nlohmann::json::array();
  std::string body_;
  std::string etag_;
};

/// A strong entity tag of a response body: "\"" + 32 hex digits of its SHA-256 + "\"".
std::string strong_etag(const std::string& body);

}  // namespace osbd::catalog

#include "catalog/registry.hpp"

#include "util/codec.hpp"

#include "catalog/validate.hpp"

namespace osbd::catalog {
namespace {

using nlohmann::json;

bool flag(const json& obj, const char* key, bool fallback) {
  return obj.contains(key) && obj.at(key).is_boolean() ? obj.at(key).get<bool>() : fallback;
}

std::string who(const plugin_host::Plugin& p) {
  return p.file() + " (" + p.name() + ")";
}

// Compiles plan.schemas.<group>.<action>.parameters; a plan without it accepts anything.
schema::Schema compile_plan_schema(const plugin_host::Plugin& plugin, const json& plan,
                                   const char* group, const char* action) {
  const json* node = &plan;
  for (const char* key : {"schemas", group, action, "parameters"}) {
    if (!node->is_object() || !node->contains(key)) {
      return schema::Schema();
    }
    node = &node->at(key);
  }
  try {
    // OSB requires draft-04 support; a schema naming another draft gets that draft.
    return schema::Schema::compile(*node, schema::Draft::draft4);
  } catch (const schema::SchemaError& e) {
    throw CatalogError(who(plugin) + ": invalid catalog: plan '" +
                       plan.at("name").get<std::string>() + "' schemas." + group + "." + action +
                       ".parameters: " + e.what());
  }
}

// Merges the catalogs of the plugins, in load order, refusing a service id, service name or plan
// id that an earlier service or plan already uses.
class CatalogMerger {
 public:
  std::map<std::pair<std::string, std::string>, PlanEntry> plans;  // (service id, plan id) → plan
  std::map<std::string, std::string> service_files;                // service id → owner
  json services = json::array();                                   // with plans, in load order

  // Asks plugin for its catalog, validates it and adds its services.
  void add_catalog(const plugin_host::PluginSharedPtr& plugin) {
    const auto result = plugin->call(plugin_host::Operation::get_catalog, json::object());
    if (result.status != OSB_STATUS_OK) {
      throw CatalogError(who(*plugin) + ": get_catalog failed: " + result.description);
    }
    const std::string problem = validate_catalog(result.body);
    if (!problem.empty()) {
      throw CatalogError(who(*plugin) + ": invalid catalog: " + problem);
    }
    for (const auto& service : result.body.at("services")) {
      add_service(plugin, service);
    }
  }

 private:
  std::map<std::string, std::string> service_names_;  // name → owner
  std::map<std::string, std::string> plan_ids_;       // id → owner

  void add_service(const plugin_host::PluginSharedPtr& plugin, const json& service) {
    const auto id = service.at("id").get<std::string>();
    const auto name = service.at("name").get<std::string>();
    if (auto it = service_files.find(id); it != service_files.end()) {
      throw CatalogError(who(*plugin) + ": service id '" + id + "' is already used by " +
                         it->second);
    }
    if (auto it = service_names_.find(name); it != service_names_.end()) {
      throw CatalogError(who(*plugin) + ": service name '" + name + "' is already used by " +
                         it->second);
    }
    if (auto it = plan_ids_.find(id); it != plan_ids_.end()) {
      throw CatalogError(who(*plugin) + ": service id '" + id + "' is already a plan id of " +
                         it->second);
    }
    service_files[id] = who(*plugin);
    service_names_[name] = who(*plugin);
    json bare = service;
    bare.erase("plans");
    for (const auto& plan : service.at("plans")) {
      add_plan(plugin, id, bare, plan);
    }
    services.push_back(service);
  }

  // Adds plan of the service with service_id, whose object without plans is bare.
  void add_plan(const plugin_host::PluginSharedPtr& plugin, const std::string& service_id,
                const json& bare, const json& plan) {
    const auto plan_id = plan.at("id").get<std::string>();
    if (auto it = plan_ids_.find(plan_id); it != plan_ids_.end()) {
      throw CatalogError(who(*plugin) + ": plan id '" + plan_id + "' is already used by " +
                         it->second);
    }
    if (auto it = service_files.find(plan_id); it != service_files.end()) {
      throw CatalogError(who(*plugin) + ": plan id '" + plan_id + "' is already a service id of " +
                         it->second);
    }
    plan_ids_[plan_id] = who(*plugin);
    plans[{service_id, plan_id}] =
        PlanEntry{bare,
                  plan,
                  plugin,
                  compile_plan_schema(*plugin, plan, "service_instance", "create"),
                  compile_plan_schema(*plugin, plan, "service_instance", "update"),
                  compile_plan_schema(*plugin, plan, "service_binding", "create")};
  }
};

}  // namespace

bool PlanEntry::bindable() const {
  return flag(plan, "bindable", flag(service, "bindable", false));
}

bool PlanEntry::plan_updateable() const {
  return flag(plan, "plan_updateable", flag(service, "plan_updateable", false));
}

bool PlanEntry::binding_rotatable() const {
  return flag(plan, "binding_rotatable", false);
}

bool PlanEntry::allow_context_updates() const {
  return flag(service, "allow_context_updates", false);
}

std::string PlanEntry::maintenance_version() const {
  if (plan.contains("maintenance_info") && plan.at("maintenance_info").contains("version")) {
    return plan.at("maintenance_info").at("version").get<std::string>();
  }
  return {};
}

int64_t PlanEntry::maximum_polling_duration() const {
  return plan.contains("maximum_polling_duration")
             ? plan.at("maximum_polling_duration").get<int64_t>()
             : 0;
}

std::shared_ptr<const Registry> Registry::build(
    const std::vector<plugin_host::PluginSharedPtr>& plugins) {
  CatalogMerger merger;
  for (const auto& plugin : plugins) {
    merger.add_catalog(plugin);
  }
  auto registry = std::make_shared<Registry>();
  registry->plugins_ = plugins;
  registry->plans_ = std::move(merger.plans);
  registry->service_files_ = std::move(merger.service_files);
  registry->body_ = json{{"services", merger.services}}.dump();
  registry->etag_ = strong_etag(registry->body_);
  registry->services_ = std::move(merger.services);
  return registry;
}

std::string strong_etag(const std::string& body) {
  return "\"" + util::sha256_hex(body).substr(0, 32) + "\"";
}

const PlanEntry* Registry::find_plan(const std::string& service_id,
                                     const std::string& plan_id) const {
  auto it = plans_.find({service_id, plan_id});
  return it == plans_.end() ? nullptr : &it->second;
}

plugin_host::PluginSharedPtr Registry::plugin_of_service(const std::string& service_id) const {
  // Plans are keyed by (service id, plan id): the first key with this service id, if any.
  const auto it = plans_.lower_bound({service_id, std::string()});
  return it != plans_.end() && it->first.first == service_id ? it->second.plugin : nullptr;
}

std::vector<const json*> Registry::services_of(const plugin_host::Plugin& plugin) const {
  std::vector<const json*> out;
  for (const auto& service : services_) {
    if (plugin_of_service(service.at("id").get<std::string>()).get() == &plugin) {
      out.push_back(&service);
    }
  }
  return out;
}

std::map<std::string, int64_t> Registry::instances_per_plugin(
    const std::vector<state::Store::PlanInstances>& plans) const {
  std::map<std::string, int64_t> out;
  for (const auto& plan : plans) {
    if (const auto* entry = find_plan(plan.service_id, plan.plan_id)) {
      out[entry->plugin->name()] += static_cast<int64_t>(plan.instances);
    }
  }
  return out;
}

plugin_host::PluginSharedPtr Registry::plugin_named(const std::string& name) const {
  for (const auto& p : plugins_) {
    if (p->name() == name) {
      return p;
    }
  }
  return nullptr;
}

bool Registry::has_service(const std::string& service_id) const {
  return service_files_.count(service_id) != 0;
}

}  // namespace osbd::catalog

#include "api/admin.hpp"

#include <algorithm>
#include <optional>
#include <variant>

#include "api/http_util.hpp"
#include "api/lifecycle_util.hpp"
#include "api/metering.hpp"
#include "log/log.hpp"
#include "plugin_host/backend.hpp"
#include "state/usage.hpp"

namespace osbd::api {

using nlohmann::json;

namespace {

std::string string_at(const json& object, const char* key) {
  if (object.is_object()) {
    if (auto it = object.find(key); it != object.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return "";
}

// Who an instance belongs to: the organization and space the platform named (the deprecated
// fields, else the Cloud Foundry context), or the Kubernetes namespace of its context.
json owner_of(const state::InstanceRecord& i) {
  json owner = json::object();
  std::string org =
      i.organization_guid.empty() ? string_at(i.context, "organization_guid") : i.organization_guid;
  std::string space = i.space_guid.empty() ? string_at(i.context, "space_guid") : i.space_guid;
  const std::string ns = string_at(i.context, "namespace");
  owner["platform"] = string_at(i.context, "platform");
  owner["organization"] = org;
  owner["space"] = space;
  owner["namespace"] = ns;
  // One name to group by: the organization, else the namespace, as the usage history names it.
  owner["key"] = state::owner_key(i);
  for (const char* key : {"organization_name", "space_name"}) {
    if (const std::string v = string_at(i.context, key); !v.empty()) {
      owner[key] = v;
    }
  }
  return owner;
}

// The user behind the request that created the instance, from X-Broker-API-Originating-Identity
// ({"platform", "value": {...}}): Cloud Foundry's user_id or Kubernetes' username.
std::string originating_user(const json& identity) {
  if (!identity.is_object()) {
    return "";
  }
  const json& value = identity.contains("value") ? identity.at("value") : json();
  std::string user = string_at(value, "user_id");
  return user.empty() ? string_at(value, "username") : user;
}

}  // namespace

ApiReply AdminApi::handle(const std::string& path, const std::map<std::string, std::string>& query,
                          const catalog::Catalogs& catalogs) const {
  bool usage = false;
  if (auto it = query.find("usage"); it != query.end()) {
    if (it->second != "true" && it->second != "false") {
      return error_reply(400, "BadRequest", "usage must be true or false");
    }
    usage = it->second == "true";
  }
  ApiReply r;
  if (path == "/admin/instances") {
    r.body = {{"instances", instances(usage, catalogs.registry())}};
  } else if (path == "/admin/bindings") {
    r.body = {{"bindings", bindings()}};
  } else if (path == "/admin/summary") {
    r.body = summary(usage, catalogs.registry());
  } else if (path == "/admin/plugins") {
    r.body = plugins(catalogs);
  } else if (path == "/admin/replicas") {
    r.body = replicas_view(lifecycle_.store().list_replicas(), replica_self(catalogs));
  } else if (path == "/admin/usage") {
    return metering(query, catalogs.registry());
  } else if (path == "/admin/operations") {
    return operations(query);
  } else {
    return error_reply(404, "NotFound",
                       "no such admin route: " + path +
                           " (routes: /admin/instances, /admin/bindings, /admin/summary, "
                           "/admin/plugins, /admin/replicas, /admin/usage, /admin/operations, "
                           "/admin/ui/)");
  }
  return r;
}

namespace {

constexpr int64_t kDefaultUsageDays = 30;
constexpr int64_t kLongestUsagePeriodMs = 800 * state::kDayMs;

// The period bound named key, or fallback when absent; an error reply when malformed.
std::optional<ApiReply> period_bound(const std::map<std::string, std::string>& query,
                                     const char* key, int64_t fallback, int64_t& out) {
  auto it = query.find(key);
  if (it == query.end()) {
    out = fallback;
    return std::nullopt;
  }
  if (auto ms = parse_period_bound(it->second)) {
    out = *ms;
    return std::nullopt;
  }
  return error_reply(400, "BadRequest",
                     std::string(key) +
                         " must be a date (YYYY-MM-DD) or a UTC time "
                         "(YYYY-MM-DDTHH:MM:SSZ)");
}

// The metering question a query asks, or the error reply that refuses it.
std::variant<UsageQuery, ApiReply> usage_query(const std::map<std::string, std::string>& query) {
  UsageQuery q;
  const int64_t now = detail::now_ms();
  q.now_ms = now;
  if (auto bad = period_bound(query, "to", now, q.to_ms)) {
    return *bad;
  }
  const int64_t default_from = std::max<int64_t>(0, q.to_ms - kDefaultUsageDays * state::kDayMs);
  if (auto bad = period_bound(query, "from", default_from, q.from_ms)) {
    return *bad;
  }
  if (q.from_ms >= q.to_ms || q.to_ms - q.from_ms > kLongestUsagePeriodMs) {
    return error_reply(400, "BadRequest", "from must be before to, at most 800 days apart");
  }
  if (auto it = query.find("by"); it != query.end()) {
    auto by = parse_usage_grouping(it->second);
    if (!by) {
      return error_reply(400, "BadRequest", "by must be organization, plan, catalog or instance");
    }
    q.by = *by;
  }
  return q;
}

}  // namespace

ApiReply AdminApi::metering(const std::map<std::string, std::string>& query,
                            const catalog::Registry& registry) const {
  auto parsed = usage_query(query);
  if (auto* refused = std::get_if<ApiReply>(&parsed)) {
    return *refused;
  }
  auto q = std::get<UsageQuery>(parsed);
  const auto format = query.count("format") != 0 ? query.at("format") : "json";
  if (format != "json" && format != "csv") {
    return error_reply(400, "BadRequest", "format must be json or csv");
  }
  q.series = format == "json";
  auto& store = lifecycle_.store();
  const auto plan_name = [&](const std::string& service_id, const std::string& plan_id) {
    const auto* plan = registry.find_plan(service_id, plan_id);
    return plan ? plan->service.value("name", service_id) + "/" + plan->plan.value("name", plan_id)
                : service_id + "/" + plan_id;
  };
  const auto scan = [&](int64_t from, int64_t to, const auto& visit) {
    store.scan_usage_samples(from, to, visit);
  };
  ApiReply r;
  r.body = usage_report(q, store.list_usage_events(q.to_ms), scan, plan_name);
  r.headers.emplace_back("Cache-Control", "no-store");  // billing figures: never from a cache
  if (format == "csv") {
    r.text = usage_report_csv(r.body);
    r.content_type = "text/csv; charset=utf-8";
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"osbd-usage.csv\"");
  }
  return r;
}

ApiReply AdminApi::operations(const std::map<std::string, std::string>& query) const {
  size_t limit = 100;
  if (auto it = query.find("limit"); it != query.end()) {
    const std::string& v = it->second;
    if (v.empty() || v.size() > 4 || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(v) == 0 || std::stoul(v) > 1000) {
      return error_reply(400, "BadRequest", "limit must be a number from 1 to 1000");
    }
    limit = std::stoul(v);
  }
  std::optional<state::OperationState> only;
  if (auto it = query.find("state"); it != query.end()) {
    only = state::parse_operation_state(it->second == "in_progress" ? "in progress" : it->second);
    if (!only) {
      return error_reply(400, "BadRequest", "state must be succeeded, failed or in_progress");
    }
  }
  json out = json::array();
  for (const auto& op : lifecycle_.store().list_recent_operations(limit, only)) {
    auto [catalog_name, instance_id] = catalog::split_scoped_id(op.instance_id);
    out.push_back({{"id", op.id},
                   {"catalog", std::move(catalog_name)},
                   {"instance_id", std::move(instance_id)},
                   {"binding_id", op.binding_id},
                   {"kind", state::to_string(op.kind)},
                   {"state", state::to_string(op.state)},
                   {"description", op.description},
                   {"created_at", log::rfc3339_ms(op.created_at_ms)},
                   {"updated_at", log::rfc3339_ms(op.updated_at_ms)}});
  }
  ApiReply r;
  r.body = {{"operations", std::move(out)}};
  return r;
}

json AdminApi::instances(bool usage, const catalog::Registry& registry) const {
  auto& store = lifecycle_.store();
  json out = json::array();
  for (const auto& i : store.list_instances()) {
    auto [catalog_name, id] = catalog::split_scoped_id(i.id);
    json item = {{"id", std::move(id)},
                 {"catalog", std::move(catalog_name)},
                 {"service_id", i.service_id},
                 {"plan_id", i.plan_id},
                 {"service", ""},
                 {"plan", ""},
                 {"plugin", i.plugin},
                 {"status", state::to_string(i.status)},
                 {"owner", owner_of(i)},
                 {"originating_user", originating_user(i.originating_identity)},
                 {"created_at", log::rfc3339_ms(i.created_at_ms)},
                 {"updated_at", log::rfc3339_ms(i.updated_at_ms)},
                 {"bindings", store.list_bindings(i.id).size()}};
    if (const auto* plan = registry.find_plan(i.service_id, i.plan_id)) {
      item["service"] = plan->service.value("name", "");
      item["plan"] = plan->plan.value("name", "");
    }
    if (!i.last_operation.empty()) {
      if (auto op = store.get_operation(i.last_operation)) {
        item["last_operation"] = {{"id", op->id},
                                  {"kind", state::to_string(op->kind)},
                                  {"state", state::to_string(op->state)},
                                  {"updated_at", log::rfc3339_ms(op->updated_at_ms)}};
      }
    }
    if (usage) {
      item["usage"] =
          i.status == state::ResourceStatus::ready ? lifecycle_.instance_usage(i) : json::object();
    }
    out.push_back(std::move(item));
  }
  return out;
}

json AdminApi::bindings() const {
  auto& store = lifecycle_.store();
  json out = json::array();
  for (const auto& i : store.list_instances()) {
    for (const auto& b : store.list_bindings(i.id)) {
      auto [catalog_name, instance_id] = catalog::split_scoped_id(b.instance_id);
      json item = {{"instance_id", std::move(instance_id)},
                   {"catalog", std::move(catalog_name)},
                   {"id", b.id},
                   {"service_id", b.service_id},
                   {"plan_id", b.plan_id},
                   {"app_guid", b.app_guid},
                   {"status", state::to_string(b.status)},
                   {"owner", owner_of(i)},
                   {"created_at", log::rfc3339_ms(b.created_at_ms)},
                   {"updated_at", log::rfc3339_ms(b.updated_at_ms)}};
      out.push_back(std::move(item));
    }
  }
  return out;
}

json AdminApi::summary(bool usage, const catalog::Registry& registry) const {
  // Keyed by (service_id, plan_id) and by owner, in a stable order.
  std::map<std::pair<std::string, std::string>, json> plans;
  std::map<std::string, json> owners;
  const json all = instances(usage, registry);
  for (const auto& i : all) {
    const int64_t bytes = usage ? i.at("usage").value("bytes", int64_t{0}) : 0;
    json& plan = plans[{i.at("service_id"), i.at("plan_id")}];
    if (plan.is_null()) {
      plan = {{"service_id", i.at("service_id")},
              {"plan_id", i.at("plan_id")},
              {"service", i.at("service")},
              {"plan", i.at("plan")},
              {"instances", 0},
              {"organizations", json::array()}};
      if (usage) {
        plan["bytes"] = 0;
      }
    }
    plan["instances"] = plan["instances"].get<int64_t>() + 1;
    const std::string owner = i.at("owner").at("key");
    auto& orgs = plan["organizations"];
    if (std::find(orgs.begin(), orgs.end(), owner) == orgs.end()) {
      orgs.push_back(owner);
    }
    json& who = owners[owner];
    if (who.is_null()) {
      who = {{"owner", owner}, {"instances", 0}, {"plans", json::object()}};
      if (usage) {
        who["bytes"] = 0;
      }
    }
    who["instances"] = who["instances"].get<int64_t>() + 1;
    const std::string plan_name = i.at("plan").get<std::string>().empty()
                                      ? i.at("plan_id").get<std::string>()
                                      : i.at("plan").get<std::string>();
    who["plans"][plan_name] = who["plans"].value(plan_name, int64_t{0}) + 1;
    if (usage) {
      plan["bytes"] = plan["bytes"].get<int64_t>() + bytes;
      who["bytes"] = who["bytes"].get<int64_t>() + bytes;
    }
  }
  json out = {{"instances", all.size()}, {"plans", json::array()}, {"owners", json::array()}};
  for (auto& [key, plan] : plans) {
    out["plans"].push_back(std::move(plan));
  }
  for (auto& [key, who] : owners) {
    out["owners"].push_back(std::move(who));
  }
  return out;
}

namespace {

// Where the plugin runs and how its host and calls are doing.
void add_host_fields(const plugin_host::Plugin& plugin, json& out) {
  const plugin_host::HostStatus host = plugin.host_status();
  const plugin_host::CallCounters calls = plugin.counters();
  out["isolation"] = plugin_host::to_string(plugin.settings().isolation);
  out["pid"] = host.pid ? json(*host.pid) : json(nullptr);
  out["state"] = host.state;
  out["restarts"] = host.restarts;
  out["last_exit"] = host.last_exit.empty() ? json(nullptr) : json(host.last_exit);
  out["calls_in_flight"] = calls.in_flight;
  out["call_timeouts"] = calls.timeouts;
  out["signer"] = plugin.signer().empty() ? json(nullptr) : json(plugin.signer());
}

}  // namespace

ReplicaSelf AdminApi::replica_self(const catalog::Catalogs& catalogs) const {
  const auto& options = lifecycle_.options();
  return {options.replica_id, catalog_fingerprint(catalogs), detail::now_ms(), options.lease_ms};
}

json AdminApi::plugins(const catalog::Catalogs& catalogs) const {
  const catalog::Registry& registry = catalogs.registry();
  auto instances_of = registry.instances_per_plugin(lifecycle_.store().count_instances_by_plan());
  json loaded = json::array();
  for (const auto& plugin : registry.plugins()) {
    json services = json::array();
    for (const json* service_ptr : registry.services_of(*plugin)) {
      const json& service = *service_ptr;
      const auto& id = service.at("id").get_ref<const std::string&>();
      json shown_in = json::array();
      for (const auto& view : catalogs.views()) {
        if (view.has_service(id)) {
          shown_in.push_back(view.name());
        }
      }
      services.push_back({{"id", id},
                          {"name", service.at("name")},
                          {"plans", service.at("plans").size()},
                          {"catalogs", std::move(shown_in)}});
    }
    loaded.push_back({{"name", plugin->name()},
                      {"version", plugin->version()},
                      {"vendor", plugin->vendor()},
                      {"abi_version", plugin->abi_version()},
                      {"file", plugin->file()},
                      {"services", std::move(services)},
                      {"instances", instances_of[plugin->name()]}});
    add_host_fields(*plugin, loaded.back());
  }
  json refused = json::array();
  for (const auto& r : catalogs.refused()) {
    refused.push_back({{"file", r.file}, {"error", r.error}});
  }
  return {{"plugins", std::move(loaded)},
          {"refused", std::move(refused)},
          {"warnings", catalogs.warnings()}};
}

}  // namespace osbd::api

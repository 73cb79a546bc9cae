// Instance routes of the OSB lifecycle: provision, update, deprovision, fetch, last_operation.

#include "api/lifecycle.hpp"
#include "api/lifecycle_util.hpp"

#include <utility>
#include <variant>

namespace osbd::api {

using nlohmann::json;
using state::BeginResult;
using state::OperationKind;
using state::OperationState;
using state::ResourceStatus;
template <typename T>
using Parsed = detail::Parsed<T>;

namespace {

ApiReply unknown_plan(const PlanLookup& plans, const std::string& service_id,
                      const std::string& plan_id) {
  if (!plans.has_service(service_id)) {
    return error_reply(400, "BadRequest", "unknown service_id '" + service_id + "'");
  }
  return error_reply(400, "BadRequest",
                     "unknown plan_id '" + plan_id + "' for service '" + service_id + "'");
}

// A provision request: its body's fields, read and type-checked, and accepts_incomplete.
struct ProvisionRequest {
  std::string service_id;
  std::string plan_id;
  std::string organization_guid;
  std::string space_guid;
  json parameters;
  json context;
  json maintenance_info;
  json originating_identity;
  bool accepts_incomplete = false;
};

Parsed<ProvisionRequest> parse_provision(const ApiRequest& request,
                                         const LifecycleOptions& options) {
  detail::BodyReader body(request.body);
  ProvisionRequest p;
  p.service_id = body.required_string("service_id");
  p.plan_id = body.required_string("plan_id");
  p.parameters = body.object_or("parameters", json::object());
  p.context = body.object_or("context", json::object());
  p.maintenance_info = body.object_or("maintenance_info", nullptr);
  // accept_context_only: a request with a context may leave out its organization and space.
  const bool org_required = !(options.accept_context_only && body.has("context"));
  for (auto [key, out] : {std::pair{"organization_guid", &p.organization_guid},
                          std::pair{"space_guid", &p.space_guid}}) {
    *out = org_required ? body.required_string(key) : body.optional_string(key);
  }
  if (body.refusal()) {
    return *body.refusal();
  }
  p.originating_identity = request.originating_identity;
  p.accepts_incomplete = detail::accepts_incomplete(request);
  return p;
}

// Why the plan refuses a provision (unknown, parameters its schema rejects, another maintenance
// version), or nullopt.
std::optional<ApiReply> refuse_provision(const PlanLookup& plans, const catalog::PlanEntry* plan,
                                         const ProvisionRequest& p) {
  if (plan == nullptr) {
    return unknown_plan(plans, p.service_id, p.plan_id);
  }
  if (auto invalid = detail::check_parameters(plan->instance_create_schema, p.parameters)) {
    return invalid;
  }
  const json& info = p.maintenance_info;
  if (info.is_object() && info.contains("version") &&
      (!info.at("version").is_string() ||
       info.at("version").get<std::string>() != plan->maintenance_version())) {
    const std::string& version = plan->maintenance_version();
    return error_reply(422, "MaintenanceInfoConflict",
                       "maintenance_info.version does not match the plan's (" +
                           (version.empty() ? std::string("none") : version) + ")");
  }
  return std::nullopt;
}

state::InstanceRecord new_instance(const std::string& instance_id, const ProvisionRequest& p,
                                   const catalog::PlanEntry& plan) {
  const int64_t now = detail::now_ms();
  state::InstanceRecord instance;
  instance.id = instance_id;
  instance.service_id = p.service_id;
  instance.plan_id = p.plan_id;
  instance.plugin = plan.plugin->name();
  instance.organization_guid = p.organization_guid;
  instance.space_guid = p.space_guid;
  instance.parameters = p.parameters;
  instance.context = p.context;
  instance.originating_identity = p.originating_identity;
  instance.maintenance_info = p.maintenance_info;
  instance.status = ResourceStatus::creating;
  instance.created_at_ms = now;
  instance.updated_at_ms = now;
  return instance;
}

// What the plugin's provision call is given.
json provision_call(const state::InstanceRecord& instance, const ProvisionRequest& p) {
  json call = detail::attributes_of(instance);
  call["instance_id"] = instance.id;
  call["context"] = p.context;
  call["maintenance_info"] = p.maintenance_info;
  call["accepts_incomplete"] = p.accepts_incomplete;
  call["originating_identity"] = p.originating_identity;
  return call;
}

// An update request: its body's fields (null when absent, plan_id "" when absent) and
// accepts_incomplete.
struct UpdateRequest {
  std::string service_id;
  std::string plan_id;
  json parameters;
  json context;
  json maintenance_info;
  bool accepts_incomplete = false;
};

Parsed<UpdateRequest> parse_update(const ApiRequest& request) {
  detail::BodyReader body(request.body);
  UpdateRequest u;
  u.service_id = body.required_string("service_id");
  u.plan_id = body.optional_string("plan_id");
  u.parameters = body.object_or("parameters", nullptr);
  u.context = body.object_or("context", nullptr);
  u.maintenance_info = body.object_or("maintenance_info", nullptr);
  if (body.refusal()) {
    return *body.refusal();
  }
  u.accepts_incomplete = detail::accepts_incomplete(request);
  return u;
}

// Why the target plan refuses an update of instance (unknown, not updateable from the current
// plan, another maintenance version, parameters its schema rejects), or nullopt.
std::optional<ApiReply> refuse_update(const PlanLookup& plans, const catalog::PlanEntry* plan,
                                      const state::InstanceRecord& instance, const UpdateRequest& u,
                                      const std::string& target_plan) {
  if (plan == nullptr) {
    return unknown_plan(plans, u.service_id, target_plan);
  }
  if (target_plan != instance.plan_id) {
    const catalog::PlanEntry* current = plans.registry->find_plan(u.service_id, instance.plan_id);
    if (current != nullptr && !current->plan_updateable()) {
      return error_reply(422, "UnprocessableEntity",
                         "the plan of this instance cannot be changed (plan_updateable is false)");
    }
  }
  if (u.maintenance_info.is_object() && u.maintenance_info.contains("version") &&
      u.maintenance_info.at("version") != plan->maintenance_version()) {
    return error_reply(422, "MaintenanceInfoConflict",
                       "maintenance_info.version does not match the plan's");
  }
  if (u.parameters.is_object()) {
    return detail::check_parameters(plan->instance_update_schema, u.parameters);
  }
  return std::nullopt;
}

// The instance's attributes once the update succeeds: {plan_id, parameters, context,
// maintenance_info}.
json update_target(const state::InstanceRecord& instance, const UpdateRequest& u,
                   const std::string& target_plan) {
  json parameters = instance.parameters;
  if (u.parameters.is_object()) {
    parameters.update(u.parameters);
  }
  return {{"plan_id", target_plan},
          {"parameters", parameters},
          {"context", u.context.is_object() ? u.context : instance.context},
          {"maintenance_info",
           u.maintenance_info.is_object() ? u.maintenance_info : instance.maintenance_info}};
}

// What the plugin's update call is given.
json update_call(const state::InstanceRecord& instance, const UpdateRequest& u,
                 const json& target) {
  return {{"instance_id", instance.id},
          {"service_id", u.service_id},
          {"plan_id", target.at("plan_id")},
          {"previous_plan_id", instance.plan_id},
          {"parameters", u.parameters.is_object() ? u.parameters : json::object()},
          {"previous_parameters", instance.parameters},
          {"context", target.at("context")},
          {"maintenance_info", target.at("maintenance_info")},
          {"instance_state", instance.plugin_state},
          {"accepts_incomplete", u.accepts_incomplete}};
}

}  // namespace

util::Task<ApiReply> Lifecycle::provision(std::string instance_id, ApiRequest request) {
  auto parsed = parse_provision(request, options_);
  if (auto* refusal = std::get_if<ApiReply>(&parsed)) {
    co_return std::move(*refusal);
  }
  const ProvisionRequest& p = std::get<ProvisionRequest>(parsed);
  const PlanLookup plans = plans_for(request);
  const catalog::PlanEntry* plan = plans.find(p.service_id, p.plan_id);
  if (auto refusal = refuse_provision(plans, plan, p)) {
    co_return std::move(*refusal);
  }
  state::InstanceRecord instance = new_instance(instance_id, p, *plan);
  const json attributes = detail::attributes_of(instance);
  state::OperationRecord op =
      detail::new_operation(options_.replica_id, OperationKind::provision, instance_id, "",
                            p.accepts_incomplete, attributes, instance.created_at_ms, plan);
  instance.active_operation = op.id;
  instance.last_operation = op.id;
  const InFlight in_flight(*this, op.id);

  const BeginResult began =
      co_await write_intent([&] { return store_.begin_create_instance(instance, op); });
  if (began != BeginResult::started) {
    co_return repeated_provision(instance_id, attributes, p.accepts_incomplete);
  }
  const auto result =
      plan->plugin->call(plugin_host::Operation::provision, provision_call(instance, p));
  ApiReply reply = co_await end_create(instance, op, result, p.accepts_incomplete);
  co_return reply;
}

ApiReply Lifecycle::repeated_provision(const std::string& instance_id, const json& attributes,
                                       bool async_ok) {
  static constexpr detail::CreateWording kWording{
      "the instance is being provisioned", "another operation is in progress on this instance",
      "an instance with this id exists and its provision failed: deprovision it before "
      "provisioning it again",
      "an instance with this id exists with different attributes"};
  auto existing = store_.get_instance(instance_id);
  if (!existing) {
    return detail::concurrency_error("the instance is being deleted; retry later");
  }
  return detail::repeated_create(detail::existing_resource(*existing), attributes, kWording,
                                 async_ok, store_);
}

ApiReply Lifecycle::update(const std::string& instance_id, const ApiRequest& request) {
  auto parsed = parse_update(request);
  if (auto* refusal = std::get_if<ApiReply>(&parsed)) {
    return std::move(*refusal);
  }
  const UpdateRequest& u = std::get<UpdateRequest>(parsed);
  auto instance = store_.get_instance(instance_id);
  if (!instance) {
    return error_reply(404, "NotFound", "no such service instance");
  }
  if (instance->status == ResourceStatus::creating) {
    // OSB "Blocking Operations": a request on an instance that is still being created.
    return detail::concurrency_error("the instance is being provisioned");
  }
  if (instance->service_id != u.service_id) {
    return error_reply(400, "BadRequest", "service_id does not match the instance's service");
  }
  const std::string target_plan = u.plan_id.empty() ? instance->plan_id : u.plan_id;
  const PlanLookup plans = plans_for(request);
  const catalog::PlanEntry* plan = plans.find(u.service_id, target_plan);
  if (auto refusal = refuse_update(plans, plan, *instance, u, target_plan)) {
    return std::move(*refusal);
  }
  const json target = update_target(*instance, u, target_plan);
  state::OperationRecord op = detail::new_operation(
      options_.replica_id, OperationKind::update, instance_id, "", u.accepts_incomplete,
      {{"target", target},
       {"parameters", u.parameters},
       {"previous_status", state::to_string(instance->status)}},
      detail::now_ms(), plan);
  const InFlight in_flight(*this, op.id);
  if (auto refusal = begin_update(*instance, op, target)) {
    return std::move(*refusal);
  }
  instance->active_operation = op.id;
  instance->last_operation = op.id;
  const auto result =
      plan->plugin->call(plugin_host::Operation::update, update_call(*instance, u, target));
  return end_update(*instance, op, result);
}

std::optional<ApiReply> Lifecycle::begin_update(const state::InstanceRecord& instance,
                                                state::OperationRecord& op, const json& target) {
  switch (store_.begin_instance_operation(instance.id, op, instance.status, false)) {
    case BeginResult::started:
      return std::nullopt;
    case BeginResult::missing:
      return error_reply(404, "NotFound", "no such service instance");
    default:
      break;
  }
  auto fresh = store_.get_instance(instance.id);
  auto running = fresh ? store_.get_operation(fresh->active_operation) : std::nullopt;
  if (running && running->kind == OperationKind::update && running->async && op.async &&
      running->request.value("target", json()) == target) {
    return detail::accepted(running->id);
  }
  return detail::concurrency_error("another operation is in progress on this instance");
}

ApiReply Lifecycle::end_update(state::InstanceRecord& instance, state::OperationRecord& op,
                               const plugin_host::CallResult& result) {
  if (result.status == OSB_STATUS_IN_PROGRESS && op.async) {
    op.plugin_operation = result.body.at("operation").get<std::string>();
    op.updated_at_ms = detail::now_ms();
    store_.update_operation(op);
    return detail::accepted(op.id);
  }
  if (result.status == OSB_STATUS_OK) {
    complete_instance(instance, op, Outcome{OperationState::succeeded, result.body, ""});
    ApiReply ok;
    ok.body = detail::dashboard_of(result.body);
    return ok;
  }
  const plugin_host::CallResult failure = detail::as_failure(result);
  complete_instance(instance, op,
                    Outcome{OperationState::failed, json::object(), failure.description});
  ApiReply r = detail::failure_reply(failure);
  if (!detail::is_client_error(failure.status)) {
    r.body["instance_usable"] = true;
    r.body["update_repeatable"] = true;
  }
  return r;
}

util::Task<ApiReply> Lifecycle::deprovision(std::string instance_id, ApiRequest request) {
  auto parsed = detail::parse_removal_query(request);
  if (auto* refusal = std::get_if<ApiReply>(&parsed)) {
    co_return std::move(*refusal);
  }
  const detail::RemovalQuery& query = std::get<detail::RemovalQuery>(parsed);
  auto instance = store_.get_instance(instance_id);
  if (!instance) {
    co_return detail::gone();
  }
  if (instance->service_id != query.service_id) {
    co_return error_reply(400, "BadRequest", "service_id does not match the instance's service");
  }
  auto plugin = plugin_for(instance->plugin);
  if (!plugin) {
    co_return error_reply(
        500, "InternalError",
        "the plugin '" + instance->plugin + "' serving this instance is not loaded");
  }
  const auto registry = registry_.load();
  state::OperationRecord op = detail::new_operation(
      options_.replica_id, OperationKind::deprovision, instance_id, "", query.accepts_incomplete,
      {{"service_id", query.service_id},
       {"plan_id", query.plan_id},
       {"previous_status", state::to_string(instance->status)}},
      detail::now_ms(), registry->find_plan(instance->service_id, instance->plan_id));
  const InFlight in_flight(*this, op.id);
  std::optional<ApiReply> refused = co_await begin_deprovision(instance_id, op);
  if (refused) {
    co_return std::move(*refused);
  }
  instance = store_.get_instance(instance_id);
  if (!instance) {
    co_return detail::concurrency_error("the instance changed while the request ran; retry");
  }
  const json call = {{"instance_id", instance_id},
                     {"service_id", instance->service_id},
                     {"plan_id", instance->plan_id},
                     {"instance_state", instance->plugin_state},
                     {"accepts_incomplete", query.accepts_incomplete}};
  const auto result = plugin->call(plugin_host::Operation::deprovision, call);
  ApiReply reply = co_await end_removal(*instance, op, result, query.accepts_incomplete);
  if (reply.status >= 500) {
    // A backend failure keeps the instance as it was: usable if it was before the request.
    reply.body["instance_usable"] =
        op.request.value("previous_status", "") == state::to_string(ResourceStatus::ready);
  }
  co_return reply;
}

util::Task<std::optional<ApiReply>> Lifecycle::begin_deprovision(const std::string& instance_id,
                                                                 state::OperationRecord& op) {
  std::variant<BeginResult, ApiReply> began = co_await write_intent([&] {
    return store_.begin_instance_operation(instance_id, op, ResourceStatus::deleting, true);
  });
  if (std::get<BeginResult>(began) == BeginResult::busy) {
    began = deprovision_busy(instance_id, op);
  }
  if (auto* joined = std::get_if<ApiReply>(&began)) {
    co_return std::move(*joined);
  }
  if (auto refusal = detail::refuse_unstarted_removal(
          std::get<BeginResult>(began), "another operation is in progress on this instance")) {
    co_return refusal;
  }
  co_return std::nullopt;
}

std::variant<BeginResult, ApiReply> Lifecycle::deprovision_busy(const std::string& instance_id,
                                                                state::OperationRecord& op) {
  auto fresh = store_.get_instance(instance_id);
  auto running = fresh ? store_.get_operation(fresh->active_operation) : std::nullopt;
  switch (
      detail::on_busy(running, OperationKind::deprovision, OperationKind::provision, op.async)) {
    case detail::OnBusy::join:
      return detail::accepted(running->id);
    case detail::OnBusy::stop: {
      // The stripe keeps a poller from finishing the create at the same moment.
      util::MutexLock lock(stripe(instance_id));
      op.request["previous_status"] = state::to_string(ResourceStatus::failed);
      return store_.supersede_instance_operation(
          instance_id,
          detail::stopped_operation(*running, "stopped by a deprovision request", op.created_at_ms),
          op, ResourceStatus::deleting);
    }
    case detail::OnBusy::wait:
      break;
  }
  return BeginResult::busy;
}

ApiReply Lifecycle::fetch_instance(const std::string& instance_id, const ApiRequest&) {
  auto instance = store_.get_instance(instance_id);
  if (!instance || instance->status == ResourceStatus::creating ||
      instance->status == ResourceStatus::failed) {
    return error_reply(404, "NotFound", "no such service instance");
  }
  if (!instance->active_operation.empty()) {
    auto running = store_.get_operation(instance->active_operation);
    if (running && running->kind == OperationKind::update) {
      return detail::concurrency_error("the instance is being updated");
    }
  }
  ApiReply r;
  r.body["service_id"] = instance->service_id;
  r.body["plan_id"] = instance->plan_id;
  r.body["parameters"] = instance->parameters;
  if (!instance->dashboard_url.empty()) {
    r.body["dashboard_url"] = instance->dashboard_url;
  }
  if (instance->maintenance_info.is_object()) {
    r.body["maintenance_info"] = instance->maintenance_info;
  }
  if (instance->metadata.is_object()) {
    r.body["metadata"] = instance->metadata;
  }
  // What the instance uses, as broker-generated attributes (OSB "metadata.attributes").
  const json usage = instance_usage(*instance);
  if (!usage.empty()) {
    static constexpr std::pair<const char*, const char*> kAttributes[] = {
        {"bytes", "storage_bytes"},   {"quota_bytes", "storage_quota_bytes"},
        {"objects", "objects"},       {"quota_objects", "objects_quota"},
        {"over_quota", "over_quota"}, {"description", "usage_description"}};
    json& attributes = r.body["metadata"]["attributes"];
    if (!attributes.is_object()) {
      attributes = json::object();
    }
    for (const auto& [from, to] : kAttributes) {
      if (auto it = usage.find(from); it != usage.end()) {
        attributes[to] = *it;
      }
    }
  }
  return r;
}

ApiReply Lifecycle::instance_last_operation(const std::string& instance_id,
                                            const ApiRequest& request) {
  std::optional<state::OperationRecord> op;
  // An empty operation= is no operation (some platforms send it so).
  if (auto it = request.query.find("operation"); it != request.query.end() && !it->second.empty()) {
    op = store_.get_operation(it->second);
    if (op && (op->instance_id != instance_id || !op->binding_id.empty())) {
      op.reset();
    }
  } else {
    op = store_.latest_operation(instance_id, "");
  }
  if (!op) {
    return error_reply(404, "NotFound", "no such service instance or operation");
  }
  // Only the replica that owns the operation polls its plugin; the others answer what it wrote.
  if (op->state == OperationState::in_progress && owns(*op)) {
    poll_operation(*op);
  }
  const auto instance = store_.get_instance(instance_id);
  ApiReply reply = last_operation_reply(*op, instance.has_value());
  if (op->kind == OperationKind::deprovision && op->state == OperationState::failed) {
    reply.body["instance_usable"] = instance && instance->status == ResourceStatus::ready;
  }
  // A finished operation on a live instance also tells what the backend enforces now, e.g. that a
  // database over its storage quota is read-only for its bindings.
  if (instance && instance->status == ResourceStatus::ready &&
      op->state == OperationState::succeeded && op->id == instance->last_operation) {
    const json usage = instance_usage(*instance);
    if (usage.value("over_quota", false) && usage.contains("description")) {
      const std::string note = usage["description"].get<std::string>();
      auto& description = reply.body["description"];
      description = description.is_string() ? description.get<std::string>() + "; " + note : note;
    }
  }
  return reply;
}

}  // namespace osbd::api

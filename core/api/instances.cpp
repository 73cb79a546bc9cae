// Instance routes of the OSB lifecycle: provision, update, deprovision, fetch, last_operation.

#include "api/lifecycle.hpp"
#include "api/lifecycle_util.hpp"
#include "metrics/metrics.hpp"

#include <utility>

namespace osbd::api {

using nlohmann::json;
using state::BeginResult;
using state::OperationKind;
using state::OperationState;
using state::ResourceStatus;

namespace {

ApiReply unknown_plan(const PlanLookup& plans, const std::string& service_id,
                      const std::string& plan_id) {
  if (!plans.has_service(service_id)) {
    return error_reply(400, "BadRequest", "unknown service_id '" + service_id + "'");
  }
  return error_reply(400, "BadRequest",
                     "unknown plan_id '" + plan_id + "' for service '" + service_id + "'");
}

// The attributes that make two provision requests "identical" (OSB: 200 vs 409).
bool same_provision(const state::InstanceRecord& i, const json& attrs) {
  return i.service_id == attrs.at("service_id") && i.plan_id == attrs.at("plan_id") &&
         i.parameters == attrs.at("parameters") &&
         i.organization_guid == attrs.at("organization_guid") &&
         i.space_guid == attrs.at("space_guid");
}

json created_body(const state::InstanceRecord& i) {
  json body = json::object();
  if (!i.dashboard_url.empty()) {
    body["dashboard_url"] = i.dashboard_url;
  }
  if (i.metadata.is_object()) {
    body["metadata"] = i.metadata;
  }
  return body;
}

}  // namespace

util::Task<ApiReply> Lifecycle::provision(std::string instance_id, ApiRequest request) {
  ApiReply reply;
  auto body = detail::parse_object(request.body, false, reply);
  if (!body) {
    co_return reply;
  }
  std::string service_id;
  std::string plan_id;
  std::string org;
  std::string space;
  json parameters;
  json context;
  json maintenance_info;
  if (!detail::read_string(*body, "service_id", true, service_id, reply) ||
      !detail::read_string(*body, "plan_id", true, plan_id, reply) ||
      !detail::read_object(*body, "parameters", parameters, reply, json::object()) ||
      !detail::read_object(*body, "context", context, reply, json::object()) ||
      !detail::read_object(*body, "maintenance_info", maintenance_info, reply, nullptr)) {
    co_return reply;
  }
  const bool org_required = !(options_.accept_context_only && body->contains("context"));
  if (!detail::read_string(*body, "organization_guid", org_required, org, reply) ||
      !detail::read_string(*body, "space_guid", org_required, space, reply)) {
    co_return reply;
  }
  const PlanLookup plans = plans_for(request);
  const catalog::PlanEntry* plan = plans.find(service_id, plan_id);
  if (plan == nullptr) {
    co_return unknown_plan(plans, service_id, plan_id);
  }
  if (!detail::check_parameters(plan->instance_create_schema, parameters, reply)) {
    co_return reply;
  }
  if (maintenance_info.is_object() && maintenance_info.contains("version")) {
    if (!maintenance_info.at("version").is_string() ||
        maintenance_info.at("version").get<std::string>() != plan->maintenance_version()) {
      co_return error_reply(
          422, "MaintenanceInfoConflict",
          "maintenance_info.version does not match the plan's (" +
              (plan->maintenance_version().empty() ? std::string("none")
                                                   : plan->maintenance_version()) +
              ")");
    }
  }
  const bool async_ok = detail::accepts_incomplete(request);
  const json attrs = {{"service_id", service_id},
                      {"plan_id", plan_id},
                      {"parameters", parameters},
                      {"organization_guid", org},
                      {"space_guid", space}};

  const int64_t now = detail::now_ms();
  state::InstanceRecord instance;
  instance.id = instance_id;
  instance.service_id = service_id;
  instance.plan_id = plan_id;
  instance.plugin = plan->plugin->name();
  instance.organization_guid = org;
  instance.space_guid = space;
  instance.parameters = parameters;
  instance.context = context;
  instance.originating_identity = request.originating_identity;
  instance.maintenance_info = maintenance_info;
  instance.status = ResourceStatus::creating;
  instance.created_at_ms = now;
  instance.updated_at_ms = now;

  state::OperationRecord op =
      detail::new_operation(OperationKind::provision, instance_id, "", async_ok, attrs, now, plan);
  instance.active_operation = op.id;
  instance.last_operation = op.id;
  const InFlight in_flight(*this, op.id);

  const BeginResult began =
      co_await write_intent([&] { return store_.begin_create_instance(instance, op); });
  if (began != BeginResult::started) {
    auto existing = store_.get_instance(instance_id);
    if (!existing) {
      co_return detail::concurrency_error("the instance is being deleted; retry later");
    }
    const bool same = same_provision(*existing, attrs);
    if (same && existing->status == ResourceStatus::ready && existing->active_operation.empty()) {
      ApiReply ok;
      ok.body = created_body(*existing);
      co_return ok;
    }
    if (same && existing->status == ResourceStatus::creating) {
      auto running = store_.get_operation(existing->active_operation);
      if (running && running->async && async_ok) {
        co_return detail::accepted(running->id);
      }
      co_return detail::concurrency_error("the instance is being provisioned");
    }
    if (!existing->active_operation.empty()) {
      // Whatever the attributes: the platform retries a 422, and the answer may differ once the
      // running update or deprovision ends.
      co_return detail::concurrency_error("another operation is in progress on this instance");
    }
    if (same && existing->status == ResourceStatus::failed) {
      co_return error_reply(409, "Conflict",
                            "an instance with this id exists and its provision failed: "
                            "deprovision it before provisioning it again");
    }
    co_return error_reply(409, "Conflict",
                          "an instance with this id exists with different attributes");
  }

  json call = attrs;
  call["instance_id"] = instance_id;
  call["context"] = context;
  call["maintenance_info"] = maintenance_info;
  call["accepts_incomplete"] = async_ok;
  call["originating_identity"] = request.originating_identity;
  const auto result = plan->plugin->call(plugin_host::Operation::provision, call);

  if (result.status == OSB_STATUS_IN_PROGRESS && async_ok) {
    op.plugin_operation = result.body.at("operation").get<std::string>();
    op.updated_at_ms = detail::now_ms();
    co_await write([&] { store_.update_operation(op); });
    json extra = json::object();
    if (result.body.contains("dashboard_url") && result.body.at("dashboard_url").is_string()) {
      extra["dashboard_url"] = result.body.at("dashboard_url");
    }
    co_return durable(detail::accepted(op.id, extra));
  }
  if (result.status == OSB_STATUS_OK) {
    const bool remove =
        settle_instance(instance, op, Outcome{OperationState::succeeded, result.body, ""});
    co_await write([&] { write_settled(instance, op, remove); });
    ApiReply created;
    created.status = 201;
    created.body = created_body(instance);
    co_return durable(std::move(created));
  }
  const plugin_host::CallResult failure = detail::as_failure(result);
  if (detail::is_client_error(failure.status)) {
    // The plugin changed nothing; neither does the broker.
    co_await write([&] { store_.discard_instance(instance_id, op.id); });
    metrics::global().count_operation_end(state::to_string(op.kind),
                                          state::to_string(OperationState::failed));
  } else {
    // Something may exist at the backend: keep the instance as failed so that the platform's
    // orphan-mitigation DELETE reaches the plugin.
    const bool remove = settle_instance(
        instance, op, Outcome{OperationState::failed, json::object(), failure.description});
    co_await write([&] { write_settled(instance, op, remove); });
  }
  co_return durable(detail::failure_reply(failure));
}

ApiReply Lifecycle::update(const std::string& instance_id, const ApiRequest& request) {
  ApiReply reply;
  auto body = detail::parse_object(request.body, false, reply);
  if (!body) {
    return reply;
  }
  std::string service_id;
  std::string plan_id;
  json parameters;
  json context;
  json maintenance_info;
  if (!detail::read_string(*body, "service_id", true, service_id, reply) ||
      !detail::read_string(*body, "plan_id", false, plan_id, reply) ||
      !detail::read_object(*body, "parameters", parameters, reply, nullptr) ||
      !detail::read_object(*body, "context", context, reply, nullptr) ||
      !detail::read_object(*body, "maintenance_info", maintenance_info, reply, nullptr)) {
    return reply;
  }
  auto instance = store_.get_instance(instance_id);
  if (!instance) {
    return error_reply(404, "NotFound", "no such service instance");
  }
  if (instance->status == ResourceStatus::creating) {
    // OSB "Blocking Operations": a request on an instance that is still being created.
    return detail::concurrency_error("the instance is being provisioned");
  }
  if (instance->service_id != service_id) {
    return error_reply(400, "BadRequest", "service_id does not match the instance's service");
  }
  const std::string target_plan = plan_id.empty() ? instance->plan_id : plan_id;
  const PlanLookup plans = plans_for(request);
  const catalog::PlanEntry* plan = plans.find(service_id, target_plan);
  if (plan == nullptr) {
    return unknown_plan(plans, service_id, target_plan);
  }
  if (target_plan != instance->plan_id) {
    const catalog::PlanEntry* current = plans.registry->find_plan(service_id, instance->plan_id);
    if (current != nullptr && !current->plan_updateable()) {
      return error_reply(422, "UnprocessableEntity",
                         "the plan of this instance cannot be changed (plan_updateable is false)");
    }
  }
  if (maintenance_info.is_object() && maintenance_info.contains("version") &&
      maintenance_info.at("version") != plan->maintenance_version()) {
    return error_reply(422, "MaintenanceInfoConflict",
                       "maintenance_info.version does not match the plan's");
  }
  if (parameters.is_object() &&
      !detail::check_parameters(plan->instance_update_schema, parameters, reply)) {
    return reply;
  }
  json new_parameters = instance->parameters;
  if (parameters.is_object()) {
    new_parameters.update(parameters);
  }
  const json target = {
      {"plan_id", target_plan},
      {"parameters", new_parameters},
      {"context", context.is_object() ? context : instance->context},
      {"maintenance_info",
       maintenance_info.is_object() ? maintenance_info : instance->maintenance_info}};
  const bool async_ok = detail::accepts_incomplete(request);
  const int64_t now = detail::now_ms();
  state::OperationRecord op =
      detail::new_operation(OperationKind::update, instance_id, "", async_ok,
                            {{"target", target},
                             {"parameters", parameters},
                             {"previous_status", state::to_string(instance->status)}},
                            now, plan);
  const InFlight in_flight(*this, op.id);
  switch (store_.begin_instance_operation(instance_id, op, instance->status, false)) {
    case BeginResult::started:
      break;
    case BeginResult::missing:
      return error_reply(404, "NotFound", "no such service instance");
    default: {
      auto fresh = store_.get_instance(instance_id);
      auto running = fresh ? store_.get_operation(fresh->active_operation) : std::nullopt;
      if (running && running->kind == OperationKind::update && running->async && async_ok &&
          running->request.value("target", json()) == target) {
        return detail::accepted(running->id);
      }
      return detail::concurrency_error("another operation is in progress on this instance");
    }
  }
  instance->active_operation = op.id;
  instance->last_operation = op.id;

  const json call = {{"instance_id", instance_id},
                     {"service_id", service_id},
                     {"plan_id", target_plan},
                     {"previous_plan_id", instance->plan_id},
                     {"parameters", parameters.is_object() ? parameters : json::object()},
                     {"previous_parameters", instance->parameters},
                     {"context", target.at("context")},
                     {"maintenance_info", target.at("maintenance_info")},
                     {"instance_state", instance->plugin_state},
                     {"accepts_incomplete", async_ok}};
  const auto result = plan->plugin->call(plugin_host::Operation::update, call);
  if (result.status == OSB_STATUS_IN_PROGRESS && async_ok) {
    op.plugin_operation = result.body.at("operation").get<std::string>();
    store_.update_operation(op);
    return detail::accepted(op.id);
  }
  if (result.status == OSB_STATUS_OK) {
    complete_instance(*instance, op, Outcome{OperationState::succeeded, result.body, ""});
    ApiReply ok;
    if (result.body.contains("dashboard_url") && result.body.at("dashboard_url").is_string()) {
      ok.body["dashboard_url"] = result.body.at("dashboard_url");
    }
    return ok;
  }
  const plugin_host::CallResult failure = detail::as_failure(result);
  complete_instance(*instance, op,
                    Outcome{OperationState::failed, json::object(), failure.description});
  ApiReply r = detail::failure_reply(failure);
  if (!detail::is_client_error(failure.status)) {
    r.body["instance_usable"] = true;
    r.body["update_repeatable"] = true;
  }
  return r;
}

util::Task<ApiReply> Lifecycle::deprovision(std::string instance_id, ApiRequest request) {
  const auto service_it = request.query.find("service_id");
  const auto plan_it = request.query.find("plan_id");
  if (service_it == request.query.end() || service_it->second.empty()) {
    co_return error_reply(400, "BadRequest", "missing required query parameter 'service_id'");
  }
  if (plan_it == request.query.end() || plan_it->second.empty()) {
    co_return error_reply(400, "BadRequest", "missing required query parameter 'plan_id'");
  }
  auto instance = store_.get_instance(instance_id);
  if (!instance) {
    ApiReply gone;
    gone.status = 410;
    co_return gone;
  }
  if (instance->service_id != service_it->second) {
    co_return error_reply(400, "BadRequest", "service_id does not match the instance's service");
  }
  auto plugin = plugin_for(instance->plugin);
  if (!plugin) {
    co_return error_reply(
        500, "InternalError",
        "the plugin '" + instance->plugin + "' serving this instance is not loaded");
  }
  const bool async_ok = detail::accepts_incomplete(request);
  const int64_t now = detail::now_ms();
  const auto registry = registry_.load();
  const auto* plan = registry->find_plan(instance->service_id, instance->plan_id);
  state::OperationRecord op =
      detail::new_operation(OperationKind::deprovision, instance_id, "", async_ok,
                            {{"service_id", service_it->second},
                             {"plan_id", plan_it->second},
                             {"previous_status", state::to_string(instance->status)}},
                            now, plan);
  const InFlight in_flight(*this, op.id);
  BeginResult began = co_await write_intent([&] {
    return store_.begin_instance_operation(instance_id, op, ResourceStatus::deleting, true);
  });
  if (began == BeginResult::busy) {
    auto fresh = store_.get_instance(instance_id);
    auto running = fresh ? store_.get_operation(fresh->active_operation) : std::nullopt;
    if (running && running->kind == OperationKind::deprovision && running->async && async_ok) {
      co_return detail::accepted(running->id);
    }
    if (running && running->kind == OperationKind::provision && running->async && async_ok) {
      // OSB: a DELETE during an in-flight asynchronous create stops the create and cleans up.
      // The stripe keeps a poller from finishing the create at the same moment.
      std::lock_guard<std::mutex> lock(stripe(instance_id));
      state::OperationRecord stopped = *running;
      stopped.state = OperationState::failed;
      stopped.description = "stopped by a deprovision request";
      stopped.updated_at_ms = now;
      op.request["previous_status"] = state::to_string(ResourceStatus::failed);
      began =
          store_.supersede_instance_operation(instance_id, stopped, op, ResourceStatus::deleting);
    }
  }
  switch (began) {
    case BeginResult::started:
      break;
    case BeginResult::missing: {
      ApiReply gone;
      gone.status = 410;
      co_return gone;
    }
    default:
      co_return detail::concurrency_error("another operation is in progress on this instance");
  }
  instance = store_.get_instance(instance_id);
  if (!instance) {
    co_return detail::concurrency_error("the instance changed while the request ran; retry");
  }
  const json call = {{"instance_id", instance_id},
                     {"service_id", instance->service_id},
                     {"plan_id", instance->plan_id},
                     {"instance_state", instance->plugin_state},
                     {"accepts_incomplete", async_ok}};
  const auto result = plugin->call(plugin_host::Operation::deprovision, call);
  if (result.status == OSB_STATUS_IN_PROGRESS && async_ok) {
    op.plugin_operation = result.body.at("operation").get<std::string>();
    co_await write([&] { store_.update_operation(op); });
    co_return durable(detail::accepted(op.id));
  }
  const bool remove = settle_instance(*instance, op, detail::outcome_of_call(result));
  co_await write([&] { write_settled(*instance, op, remove); });
  if (result.status == OSB_STATUS_OK) {
    co_return durable(ApiReply{});
  }
  const plugin_host::CallResult failure = detail::as_failure(result);
  ApiReply r = detail::failure_reply(failure);
  if (!detail::is_client_error(failure.status)) {
    // The instance is kept as it was: usable if it was before the request.
    r.body["instance_usable"] =
        op.request.value("previous_status", "") == state::to_string(ResourceStatus::ready);
  }
  co_return durable(std::move(r));
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
  if (op->state == OperationState::in_progress) {
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

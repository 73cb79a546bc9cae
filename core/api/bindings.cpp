// Binding routes of the OSB lifecycle: bind, unbind, fetch, last_operation.

#include "api/lifecycle.hpp"
#include "api/lifecycle_util.hpp"
#include "metrics/metrics.hpp"

namespace osbd::api {

using nlohmann::json;
using state::BeginResult;
using state::OperationKind;
using state::OperationState;
using state::ResourceStatus;

namespace {

bool same_binding(const state::BindingRecord& b, const json& attrs) {
  return b.service_id == attrs.at("service_id") && b.plan_id == attrs.at("plan_id") &&
         b.parameters == attrs.at("parameters") && b.app_guid == attrs.at("app_guid") &&
         b.bind_resource == attrs.at("bind_resource");
}

ApiReply gone() {
  ApiReply r;
  r.status = 410;
  return r;
}

}  // namespace

util::Task<ApiReply> Lifecycle::bind(std::string instance_id, std::string binding_id,
                                     ApiRequest request) {
  ApiReply reply;
  auto body = detail::parse_object(request.body, false, reply);
  if (!body) {
    co_return reply;
  }
  std::string service_id;
  std::string plan_id;
  std::string app_guid;
  std::string predecessor;
  json parameters;
  json context;
  json bind_resource;
  if (!detail::read_string(*body, "service_id", true, service_id, reply) ||
      !detail::read_string(*body, "plan_id", true, plan_id, reply) ||
      !detail::read_string(*body, "app_guid", false, app_guid, reply) ||
      !detail::read_string(*body, "predecessor_binding_id", false, predecessor, reply) ||
      !detail::read_object(*body, "parameters", parameters, reply, json::object()) ||
      !detail::read_object(*body, "context", context, reply, json::object()) ||
      !detail::read_object(*body, "bind_resource", bind_resource, reply, nullptr)) {
    co_return reply;
  }
  const PlanLookup plans = plans_for(request);
  const catalog::PlanEntry* plan = plans.find(service_id, plan_id);
  if (plan == nullptr) {
    co_return error_reply(400, "BadRequest", "unknown service_id or plan_id");
  }
  if (!plan->bindable()) {
    co_return error_reply(400, "BadRequest", "the plan is not bindable");
  }
  if (!detail::check_parameters(plan->binding_create_schema, parameters, reply)) {
    co_return reply;
  }
  auto instance = store_.get_instance(instance_id);
  if (!instance) {
    co_return error_reply(404, "NotFound", "no such service instance");
  }
  if (instance->service_id != service_id || instance->plan_id != plan_id) {
    co_return error_reply(400, "BadRequest",
                          "service_id and plan_id must be those of the instance");
  }
  if (!predecessor.empty()) {
    // OSB 2.17 binding rotation: only on rotatable plans, from a live binding of this instance.
    if (!plan->binding_rotatable()) {
      co_return error_reply(
          400, "BadRequest",
          "the plan does not allow binding rotation (binding_rotatable is false)");
    }
    auto previous = store_.get_binding(instance_id, predecessor);
    if (predecessor == binding_id || !previous || previous->status != ResourceStatus::ready) {
      co_return error_reply(400, "BadRequest",
                            "predecessor_binding_id must name another existing binding of this "
                            "instance");
    }
  }
  const bool async_ok = detail::accepts_incomplete(request);
  const json attrs = {{"service_id", service_id},
                      {"plan_id", plan_id},
                      {"parameters", parameters},
                      {"app_guid", app_guid},
                      {"bind_resource", bind_resource}};
  const int64_t now = detail::now_ms();
  state::BindingRecord binding;
  binding.instance_id = instance_id;
  binding.id = binding_id;
  binding.service_id = service_id;
  binding.plan_id = plan_id;
  binding.app_guid = app_guid;
  binding.parameters = parameters;
  binding.context = context;
  binding.bind_resource = bind_resource;
  binding.status = ResourceStatus::creating;
  binding.created_at_ms = now;
  binding.updated_at_ms = now;
  state::OperationRecord op = detail::new_operation(OperationKind::bind, instance_id, binding_id,
                                                    async_ok, attrs, now, plan);
  binding.active_operation = op.id;
  binding.last_operation = op.id;
  const InFlight in_flight(*this, op.id);

  const BeginResult began =
      co_await write_intent([&] { return store_.begin_create_binding(binding, op); });
  switch (began) {
    case BeginResult::started:
      break;
    case BeginResult::missing:
      co_return detail::concurrency_error("the instance is not ready for binding (" +
                                          std::string(state::to_string(instance->status)) + ")");
    case BeginResult::busy:
      co_return detail::concurrency_error("another operation is in progress on this instance");
    case BeginResult::exists: {
      auto existing = store_.get_binding(instance_id, binding_id);
      if (!existing) {
        co_return detail::concurrency_error("the binding is being deleted; retry later");
      }
      const bool same = same_binding(*existing, attrs);
      if (same && existing->status == ResourceStatus::ready && existing->active_operation.empty()) {
        ApiReply ok;
        ok.body = existing->response.is_object() ? existing->response : json::object();
        co_return ok;
      }
      if (same && existing->status == ResourceStatus::creating) {
        auto running = store_.get_operation(existing->active_operation);
        if (running && running->async && async_ok) {
          co_return detail::accepted(running->id);
        }
        co_return detail::concurrency_error("the binding is being created");
      }
      if (!existing->active_operation.empty()) {
        co_return detail::concurrency_error("another operation is in progress on this binding");
      }
      if (same && existing->status == ResourceStatus::failed) {
        co_return error_reply(409, "Conflict",
                              "a binding with this id exists and its bind failed: unbind it "
                              "before binding it again");
      }
      co_return error_reply(409, "Conflict",
                            "a binding with this id exists with different attributes");
    }
  }

  auto plugin = plan->plugin;
  json call = attrs;
  call["instance_id"] = instance_id;
  call["binding_id"] = binding_id;
  call["context"] = context;
  call["predecessor_binding_id"] = predecessor;
  call["instance_state"] = instance->plugin_state;
  call["accepts_incomplete"] = async_ok;
  const auto result = plugin->call(plugin_host::Operation::bind, call);
  if (result.status == OSB_STATUS_IN_PROGRESS && async_ok) {
    op.plugin_operation = result.body.at("operation").get<std::string>();
    co_await write([&] { store_.update_operation(op); });
    co_return durable(detail::accepted(op.id));
  }
  if (result.status == OSB_STATUS_OK) {
    const bool remove =
        settle_binding(binding, op, Outcome{OperationState::succeeded, result.body, ""});
    co_await write([&] { write_settled(binding, op, remove); });
    ApiReply created;
    created.status = 201;
    created.body = binding.response.is_object() ? binding.response : json::object();
    co_return durable(std::move(created));
  }
  const plugin_host::CallResult failure = detail::as_failure(result);
  if (detail::is_client_error(failure.status)) {
    co_await write([&] { store_.discard_binding(instance_id, binding_id, op.id); });
    metrics::global().count_operation_end(state::to_string(op.kind),
                                          state::to_string(OperationState::failed));
  } else {
    const bool remove = settle_binding(
        binding, op, Outcome{OperationState::failed, json::object(), failure.description});
    co_await write([&] { write_settled(binding, op, remove); });
  }
  co_return durable(detail::failure_reply(failure));
}

util::Task<ApiReply> Lifecycle::unbind(std::string instance_id, std::string binding_id,
                                       ApiRequest request) {
  const auto service_it = request.query.find("service_id");
  const auto plan_it = request.query.find("plan_id");
  if (service_it == request.query.end() || service_it->second.empty()) {
    co_return error_reply(400, "BadRequest", "missing required query parameter 'service_id'");
  }
  if (plan_it == request.query.end() || plan_it->second.empty()) {
    co_return error_reply(400, "BadRequest", "missing required query parameter 'plan_id'");
  }
  auto instance = store_.get_instance(instance_id);
  auto binding = instance ? store_.get_binding(instance_id, binding_id) : std::nullopt;
  if (!binding) {
    co_return gone();
  }
  if (binding->service_id != service_it->second) {
    co_return error_reply(400, "BadRequest", "service_id does not match the binding's service");
  }
  auto plugin = plugin_for(instance->plugin);
  if (!plugin) {
    co_return error_reply(
        500, "InternalError",
        "the plugin '" + instance->plugin + "' serving this instance is not loaded");
  }
  const bool async_ok = detail::accepts_incomplete(request);
  const int64_t now = detail::now_ms();
  state::OperationRecord op =
      detail::new_operation(OperationKind::unbind, instance_id, binding_id, async_ok,
                            {{"service_id", service_it->second},
                             {"plan_id", plan_it->second},
                             {"previous_status", state::to_string(binding->status)}},
                            now, nullptr);
  const InFlight in_flight(*this, op.id);
  BeginResult began = co_await write_intent([&] {
    return store_.begin_binding_operation(instance_id, binding_id, op, ResourceStatus::deleting);
  });
  if (began == BeginResult::busy) {
    auto fresh = store_.get_binding(instance_id, binding_id);
    auto running = fresh ? store_.get_operation(fresh->active_operation) : std::nullopt;
    if (running && running->kind == OperationKind::unbind && running->async && async_ok) {
      co_return detail::accepted(running->id);
    }
    if (running && running->kind == OperationKind::bind && running->async && async_ok) {
      // OSB: an unbind during an in-flight asynchronous bind stops the bind and cleans up.
      std::lock_guard<std::mutex> lock(stripe(instance_id));
      state::OperationRecord stopped = *running;
      stopped.state = OperationState::failed;
      stopped.description = "stopped by an unbind request";
      stopped.updated_at_ms = now;
      op.request["previous_status"] = state::to_string(ResourceStatus::failed);
      began = store_.supersede_binding_operation(instance_id, binding_id, stopped, op,
                                                 ResourceStatus::deleting);
    }
  }
  switch (began) {
    case BeginResult::started:
      break;
    case BeginResult::missing:
      co_return gone();
    default:
      co_return detail::concurrency_error("another operation is in progress on this binding");
  }
  binding = store_.get_binding(instance_id, binding_id);
  if (!binding) {
    co_return detail::concurrency_error("the binding changed while the request ran; retry");
  }
  const json call = {{"instance_id", instance_id},
                     {"binding_id", binding_id},
                     {"service_id", binding->service_id},
                     {"plan_id", binding->plan_id},
                     {"instance_state", instance->plugin_state},
                     {"binding_state", binding->plugin_state},
                     {"accepts_incomplete", async_ok}};
  const auto result = plugin->call(plugin_host::Operation::unbind, call);
  if (result.status == OSB_STATUS_IN_PROGRESS && async_ok) {
    op.plugin_operation = result.body.at("operation").get<std::string>();
    co_await write([&] { store_.update_operation(op); });
    co_return durable(detail::accepted(op.id));
  }
  const bool remove = settle_binding(*binding, op, detail::outcome_of_call(result));
  co_await write([&] { write_settled(*binding, op, remove); });
  if (result.status == OSB_STATUS_OK) {
    co_return durable(ApiReply{});
  }
  co_return durable(detail::failure_reply(detail::as_failure(result)));
}

ApiReply Lifecycle::fetch_binding(const std::string& instance_id, const std::string& binding_id,
                                  const ApiRequest&) {
  auto binding = store_.get_binding(instance_id, binding_id);
  if (!binding || binding->status == ResourceStatus::creating ||
      binding->status == ResourceStatus::failed) {
    return error_reply(404, "NotFound", "no such service binding");
  }
  ApiReply r;
  r.body = binding->response.is_object() ? binding->response : json::object();
  r.body["parameters"] = binding->parameters;
  return r;
}

ApiReply Lifecycle::binding_last_operation(const std::string& instance_id,
                                           const std::string& binding_id,
                                           const ApiRequest& request) {
  std::optional<state::OperationRecord> op;
  // An empty operation= is no operation (some platforms send it so).
  if (auto it = request.query.find("operation"); it != request.query.end() && !it->second.empty()) {
    op = store_.get_operation(it->second);
    if (op && (op->instance_id != instance_id || op->binding_id != binding_id)) {
      op.reset();
    }
  } else {
    op = store_.latest_operation(instance_id, binding_id);
  }
  if (!op) {
    return error_reply(404, "NotFound", "no such service binding or operation");
  }
  if (op->state == OperationState::in_progress) {
    poll_operation(*op);
  }
  const bool exists = store_.get_binding(instance_id, binding_id).has_value();
  return last_operation_reply(*op, exists);
}

}  // namespace osbd::api

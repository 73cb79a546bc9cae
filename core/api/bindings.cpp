// Binding routes of the OSB lifecycle: bind, unbind, fetch, last_operation.

#include "api/lifecycle.hpp"
#include "api/lifecycle_util.hpp"

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

// A bind request: its body's fields, read and type-checked, and accepts_incomplete.
struct BindRequest {
  std::string service_id;
  std::string plan_id;
  std::string app_guid;
  std::string predecessor_binding_id;  // "" unless the bind rotates a binding
  json parameters;
  json context;
  json bind_resource;
  bool accepts_incomplete = false;
};

Parsed<BindRequest> parse_bind(const ApiRequest& request) {
  detail::BodyReader body(request.body);
  BindRequest b;
  b.service_id = body.required_string("service_id");
  b.plan_id = body.required_string("plan_id");
  b.app_guid = body.optional_string("app_guid");
  b.predecessor_binding_id = body.optional_string("predecessor_binding_id");
  b.parameters = body.object_or("parameters", json::object());
  b.context = body.object_or("context", json::object());
  b.bind_resource = body.object_or("bind_resource", nullptr);
  if (body.refusal()) {
    return *body.refusal();
  }
  b.accepts_incomplete = detail::accepts_incomplete(request);
  return b;
}

// Why the plan refuses a bind (unknown, not bindable, parameters its schema rejects), or nullopt.
std::optional<ApiReply> refuse_bind(const catalog::PlanEntry* plan, const BindRequest& b) {
  if (plan == nullptr) {
    return error_reply(400, "BadRequest", "unknown service_id or plan_id");
  }
  if (!plan->bindable()) {
    return error_reply(400, "BadRequest", "the plan is not bindable");
  }
  return detail::check_parameters(plan->binding_create_schema, b.parameters);
}

state::BindingRecord new_binding(const std::string& instance_id, const std::string& binding_id,
                                 const BindRequest& b) {
  const int64_t now = detail::now_ms();
  state::BindingRecord binding;
  binding.instance_id = instance_id;
  binding.id = binding_id;
  binding.service_id = b.service_id;
  binding.plan_id = b.plan_id;
  binding.app_guid = b.app_guid;
  binding.parameters = b.parameters;
  binding.context = b.context;
  binding.bind_resource = b.bind_resource;
  binding.status = ResourceStatus::creating;
  binding.created_at_ms = now;
  binding.updated_at_ms = now;
  return binding;
}

// What the plugin's bind call is given.
json bind_call(const state::InstanceRecord& instance, const state::BindingRecord& binding,
               const BindRequest& b) {
  json call = detail::attributes_of(binding);
  call["instance_id"] = instance.id;
  call["binding_id"] = binding.id;
  call["context"] = b.context;
  call["predecessor_binding_id"] = b.predecessor_binding_id;
  call["instance_state"] = instance.plugin_state;
  call["accepts_incomplete"] = b.accepts_incomplete;
  return call;
}

}  // namespace

util::Task<ApiReply> Lifecycle::bind(std::string instance_id, std::string binding_id,
                                     ApiRequest request) {
  auto parsed = parse_bind(request);
  if (auto* refusal = std::get_if<ApiReply>(&parsed)) {
    co_return std::move(*refusal);
  }
  const BindRequest& b = std::get<BindRequest>(parsed);
  const PlanLookup plans = plans_for(request);  // keeps the plan's registry alive
  const catalog::PlanEntry* plan = plans.find(b.service_id, b.plan_id);
  if (auto refusal = refuse_bind(plan, b)) {
    co_return std::move(*refusal);
  }
  auto instance = store_.get_instance(instance_id);
  if (!instance) {
    co_return error_reply(404, "NotFound", "no such service instance");
  }
  if (instance->service_id != b.service_id || instance->plan_id != b.plan_id) {
    co_return error_reply(400, "BadRequest",
                          "service_id and plan_id must be those of the instance");
  }
  if (auto refusal = refuse_rotation(*plan, instance_id, binding_id, b.predecessor_binding_id)) {
    co_return std::move(*refusal);
  }
  state::BindingRecord binding = new_binding(instance_id, binding_id, b);
  const json attributes = detail::attributes_of(binding);
  state::OperationRecord op =
      detail::new_operation(options_.replica_id, OperationKind::bind, instance_id, binding_id,
                            b.accepts_incomplete, attributes, binding.created_at_ms, plan);
  binding.active_operation = op.id;
  binding.last_operation = op.id;
  const InFlight in_flight(*this, op.id);

  const BeginResult began =
      co_await write_intent([&] { return store_.begin_create_binding(binding, op); });
  if (began != BeginResult::started) {
    co_return repeated_bind(began, *instance, binding_id, attributes, b.accepts_incomplete);
  }
  const auto result =
      plan->plugin->call(plugin_host::Operation::bind, bind_call(*instance, binding, b));
  ApiReply reply = co_await end_create(binding, op, result, b.accepts_incomplete);
  co_return reply;
}

std::optional<ApiReply> Lifecycle::refuse_rotation(const catalog::PlanEntry& plan,
                                                   const std::string& instance_id,
                                                   const std::string& binding_id,
                                                   const std::string& predecessor) {
  if (predecessor.empty()) {
    return std::nullopt;
  }
  // OSB 2.17 binding rotation: only on rotatable plans, from a live binding of this instance.
  if (!plan.binding_rotatable()) {
    return error_reply(400, "BadRequest",
                       "the plan does not allow binding rotation (binding_rotatable is false)");
  }
  auto previous = store_.get_binding(instance_id, predecessor);
  if (predecessor == binding_id || !previous || previous->status != ResourceStatus::ready) {
    return error_reply(400, "BadRequest",
                       "predecessor_binding_id must name another existing binding of this "
                       "instance");
  }
  return std::nullopt;
}

ApiReply Lifecycle::repeated_bind(BeginResult began, const state::InstanceRecord& instance,
                                  const std::string& binding_id, const json& attributes,
                                  bool async_ok) {
  static constexpr detail::CreateWording kWording{
      "the binding is being created", "another operation is in progress on this binding",
      "a binding with this id exists and its bind failed: unbind it before binding it again",
      "a binding with this id exists with different attributes"};
  if (began == BeginResult::missing) {
    return detail::concurrency_error("the instance is not ready for binding (" +
                                     std::string(state::to_string(instance.status)) + ")");
  }
  if (began == BeginResult::busy) {
    return detail::concurrency_error("another operation is in progress on this instance");
  }
  auto existing = store_.get_binding(instance.id, binding_id);
  if (!existing) {
    return detail::concurrency_error("the binding is being deleted; retry later");
  }
  return detail::repeated_create(detail::existing_resource(*existing), attributes, kWording,
                                 async_ok, store_);
}

util::Task<ApiReply> Lifecycle::unbind(std::string instance_id, std::string binding_id,
                                       ApiRequest request) {
  auto parsed = detail::parse_removal_query(request);
  if (auto* refusal = std::get_if<ApiReply>(&parsed)) {
    co_return std::move(*refusal);
  }
  const detail::RemovalQuery& query = std::get<detail::RemovalQuery>(parsed);
  auto instance = store_.get_instance(instance_id);
  auto binding = instance ? store_.get_binding(instance_id, binding_id) : std::nullopt;
  if (!binding) {
    co_return detail::gone();
  }
  if (binding->service_id != query.service_id) {
    co_return error_reply(400, "BadRequest", "service_id does not match the binding's service");
  }
  auto plugin = plugin_for(instance->plugin);
  if (!plugin) {
    co_return error_reply(
        500, "InternalError",
        "the plugin '" + instance->plugin + "' serving this instance is not loaded");
  }
  state::OperationRecord op = detail::new_operation(
      options_.replica_id, OperationKind::unbind, instance_id, binding_id, query.accepts_incomplete,
      {{"service_id", query.service_id},
       {"plan_id", query.plan_id},
       {"previous_status", state::to_string(binding->status)}},
      detail::now_ms(), nullptr);
  const InFlight in_flight(*this, op.id);
  std::optional<ApiReply> refused = co_await begin_unbind(instance_id, binding_id, op);
  if (refused) {
    co_return std::move(*refused);
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
                     {"accepts_incomplete", query.accepts_incomplete}};
  const auto result = plugin->call(plugin_host::Operation::unbind, call);
  ApiReply reply = co_await end_removal(*binding, op, result, query.accepts_incomplete);
  co_return reply;
}

util::Task<std::optional<ApiReply>> Lifecycle::begin_unbind(const std::string& instance_id,
                                                            const std::string& binding_id,
                                                            state::OperationRecord& op) {
  std::variant<BeginResult, ApiReply> began = co_await write_intent([&] {
    return store_.begin_binding_operation(instance_id, binding_id, op, ResourceStatus::deleting);
  });
  if (std::get<BeginResult>(began) == BeginResult::busy) {
    began = unbind_busy(instance_id, binding_id, op);
  }
  if (auto* joined = std::get_if<ApiReply>(&began)) {
    co_return std::move(*joined);
  }
  if (auto refusal = detail::refuse_unstarted_removal(
          std::get<BeginResult>(began), "another operation is in progress on this binding")) {
    co_return refusal;
  }
  co_return std::nullopt;
}

std::variant<BeginResult, ApiReply> Lifecycle::unbind_busy(const std::string& instance_id,
                                                           const std::string& binding_id,
                                                           state::OperationRecord& op) {
  auto fresh = store_.get_binding(instance_id, binding_id);
  auto running = fresh ? store_.get_operation(fresh->active_operation) : std::nullopt;
  switch (detail::on_busy(running, OperationKind::unbind, OperationKind::bind, op.async)) {
    case detail::OnBusy::join:
      return detail::accepted(running->id);
    case detail::OnBusy::stop: {
      util::MutexLock lock(stripe(instance_id));
      op.request["previous_status"] = state::to_string(ResourceStatus::failed);
      return store_.supersede_binding_operation(
          instance_id, binding_id,
          detail::stopped_operation(*running, "stopped by an unbind request", op.created_at_ms), op,
          ResourceStatus::deleting);
    }
    case detail::OnBusy::wait:
      break;
  }
  return BeginResult::busy;
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
  // Only the replica that owns the operation polls its plugin; the others answer what it wrote.
  if (op->state == OperationState::in_progress && owns(*op)) {
    poll_operation(*op);
  }
  const bool exists = store_.get_binding(instance_id, binding_id).has_value();
  return last_operation_reply(*op, exists);
}

}  // namespace osbd::api

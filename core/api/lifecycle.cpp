#include "api/lifecycle.hpp"

#include <functional>
#include <limits>

#include "api/lifecycle_util.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"

namespace osbd::api {

using nlohmann::json;
using state::OperationKind;
using state::OperationState;
using state::ResourceStatus;

namespace {

// Fields of a bind result that are returned to the platform; anything else stays private.
json binding_response(const json& body) {
  json out = json::object();
  for (const char* key : {"credentials", "endpoints", "syslog_drain_url", "route_service_url",
                          "volume_mounts", "metadata"}) {
    if (body.contains(key) && !body.at(key).is_null()) {
      out[key] = body.at(key);
    }
  }
  return out;
}

ResourceStatus previous_status(const state::OperationRecord& op) {
  auto parsed = state::parse_resource_status(op.request.value("previous_status", "ready"));
  return parsed.value_or(ResourceStatus::ready);
}

// The operation as the outcome leaves it, counted in the metrics when it ended; returns the time
// of the change.
int64_t settle_operation(state::OperationRecord& op, const Outcome& outcome) {
  const int64_t now = detail::now_ms();
  op.state = outcome.state;
  op.description = outcome.description;
  op.updated_at_ms = now;
  if (op.state != OperationState::in_progress) {
    metrics::global().count_operation_end(state::to_string(op.kind), state::to_string(op.state));
  }
  return now;
}

}  // namespace

Lifecycle::Lifecycle(state::Store& store, std::shared_ptr<const catalog::Registry> registry,
                     LifecycleOptions options, Post post)
    : store_(store), registry_(std::move(registry)), options_(options), post_(std::move(post)) {}

void Lifecycle::resume(std::coroutine_handle<> h) noexcept {
  if (!post_) {
    h.resume();
    return;
  }
  try {
    post_([h] { h.resume(); });
  } catch (...) {
    h.resume();  // out of memory for the post: continue here rather than lose the request
  }
}

void Lifecycle::queue_write(state::AsyncWrite& write) noexcept {
  if (!post_) {
    store_.write_async(write);
    return;
  }
  store_.queue_write(write);
  // One flush in the pool's queue at a time: it runs after the work posted before it, whose
  // writes join the same batch. A write queued after the flush cleared the flag posts another.
  if (flush_posted_.exchange(true)) {
    return;
  }
  try {
    post_([this] {
      flush_posted_.store(false);
      store_.flush_writes();
    });
  } catch (...) {
    flush_posted_.store(false);
    store_.flush_writes();
  }
}

util::Mutex& Lifecycle::stripe(const std::string& key) {
  return stripes_[std::hash<std::string>{}(key) % stripes_.size()];
}

plugin_host::PluginSharedPtr Lifecycle::plugin_for(const std::string& name) const {
  return registry_.load()->plugin_named(name);
}

const catalog::PlanEntry* PlanLookup::find(const std::string& service_id,
                                           const std::string& plan_id) const {
  return view != nullptr ? view->find_plan(service_id, plan_id)
                         : registry->find_plan(service_id, plan_id);
}

bool PlanLookup::has_service(const std::string& service_id) const {
  return view != nullptr ? view->has_service(service_id) : registry->has_service(service_id);
}

PlanLookup Lifecycle::plans_for(const ApiRequest& request) const {
  if (request.catalogs && request.view != nullptr) {
    return PlanLookup{request.catalogs->registry_ptr(), request.view};
  }
  return PlanLookup{registry_.load(), nullptr};
}

bool Lifecycle::settle(state::InstanceRecord& instance, state::OperationRecord& op,
                       const Outcome& outcome) {
  const int64_t now = settle_operation(op, outcome);
  instance.updated_at_ms = now;
  const bool ok = outcome.state == OperationState::succeeded;
  const json& body = outcome.body;
  auto adopt_result = [&] {
    if (body.contains("instance_state")) {
      instance.plugin_state = body.at("instance_state");
    }
    if (body.contains("dashboard_url") && body.at("dashboard_url").is_string()) {
      instance.dashboard_url = body.at("dashboard_url").get<std::string>();
    }
    if (body.contains("metadata") && body.at("metadata").is_object()) {
      instance.metadata = body.at("metadata");
    }
  };
  switch (op.kind) {
    case OperationKind::provision:
      instance.status = ok ? ResourceStatus::ready : ResourceStatus::failed;
      if (ok) {
        adopt_result();
      }
      break;
    case OperationKind::update:
      instance.status = previous_status(op);
      if (ok) {
        const json& target = op.request.at("target");
        instance.plan_id = target.at("plan_id").get<std::string>();
        instance.parameters = target.at("parameters");
        instance.context = target.at("context");
        instance.maintenance_info = target.at("maintenance_info");
        adopt_result();
      }
      break;
    case OperationKind::deprovision:
      if (ok) {
        return true;
      }
      instance.status = previous_status(op);
      break;
    case OperationKind::bind:
    case OperationKind::unbind:
      break;  // binding operations are settled with their binding
  }
  instance.active_operation.clear();
  return false;
}

void Lifecycle::write_settled(const state::InstanceRecord& instance,
                              const state::OperationRecord& op, bool remove) {
  if (remove) {
    store_.delete_instance(instance.id, op);
  } else if (op.kind != OperationKind::bind && op.kind != OperationKind::unbind) {
    store_.finish_instance_operation(instance, op);
  }
}

void Lifecycle::complete_instance(state::InstanceRecord instance, state::OperationRecord op,
                                  const Outcome& outcome) {
  const bool remove = settle(instance, op, outcome);
  write_settled(instance, op, remove);
}

bool Lifecycle::settle(state::BindingRecord& binding, state::OperationRecord& op,
                       const Outcome& outcome) {
  const int64_t now = settle_operation(op, outcome);
  binding.updated_at_ms = now;
  const bool ok = outcome.state == OperationState::succeeded;
  if (op.kind == OperationKind::bind) {
    binding.status = ok ? ResourceStatus::ready : ResourceStatus::failed;
    if (ok) {
      binding.response = binding_response(outcome.body);
      if (outcome.body.contains("binding_state")) {
        binding.plugin_state = outcome.body.at("binding_state");
      }
    }
  } else {
    if (ok) {
      return true;
    }
    binding.status = previous_status(op);
  }
  binding.active_operation.clear();
  return false;
}

void Lifecycle::write_settled(const state::BindingRecord& binding, const state::OperationRecord& op,
                              bool remove) {
  if (remove) {
    store_.delete_binding(binding.instance_id, binding.id, op);
  } else {
    store_.finish_binding_operation(binding, op);
  }
}

void Lifecycle::complete_binding(state::BindingRecord binding, state::OperationRecord op,
                                 const Outcome& outcome) {
  const bool remove = settle(binding, op, outcome);
  write_settled(binding, op, remove);
}

void Lifecycle::discard(const state::InstanceRecord& instance, const state::OperationRecord& op) {
  store_.discard_instance(instance.id, op.id);
}

void Lifecycle::discard(const state::BindingRecord& binding, const state::OperationRecord& op) {
  store_.discard_binding(binding.instance_id, binding.id, op.id);
}

util::Task<void> Lifecycle::record_plugin_operation(state::OperationRecord& op,
                                                    const plugin_host::CallResult& result) {
  op.plugin_operation = result.body.at("operation").get<std::string>();
  op.updated_at_ms = detail::now_ms();
  co_await write([&] { store_.update_operation(op); });
}

template <typename Record>
util::Task<ApiReply> Lifecycle::end_create(Record& resource, state::OperationRecord& op,
                                           const plugin_host::CallResult& result, bool async_ok) {
  if (result.status == OSB_STATUS_IN_PROGRESS && async_ok) {
    co_await record_plugin_operation(op, result);
    co_return durable(detail::accepted(op.id, detail::accepted_fields(resource, result.body)));
  }
  if (result.status == OSB_STATUS_OK) {
    const bool remove = settle(resource, op, Outcome{OperationState::succeeded, result.body, ""});
    co_await write([&] { write_settled(resource, op, remove); });
    if (auto refused = taken_over(op)) {
      co_return durable(std::move(*refused));
    }
    ApiReply created;
    created.status = 201;
    created.body = detail::created_body(resource);
    co_return durable(std::move(created));
  }
  const plugin_host::CallResult failure = detail::as_failure(result);
  if (detail::changed_nothing(failure.status)) {
    // The plugin changed nothing (or was never called); neither does the broker.
    co_await write([&] { discard(resource, op); });
    metrics::global().count_operation_end(state::to_string(op.kind),
                                          state::to_string(OperationState::failed));
  } else {
    // Something may exist at the backend: keep the resource as failed so that the platform's
    // orphan-mitigation DELETE reaches the plugin.
    const bool remove =
        settle(resource, op, Outcome{OperationState::failed, json::object(), failure.description});
    co_await write([&] { write_settled(resource, op, remove); });
  }
  co_return durable(detail::failure_reply(failure));
}

template <typename Record>
util::Task<ApiReply> Lifecycle::end_removal(Record& resource, state::OperationRecord& op,
                                            const plugin_host::CallResult& result, bool async_ok) {
  if (result.status == OSB_STATUS_IN_PROGRESS && async_ok) {
    co_await record_plugin_operation(op, result);
    co_return durable(detail::accepted(op.id));
  }
  const bool remove = settle(resource, op, detail::outcome_of_call(result));
  co_await write([&] { write_settled(resource, op, remove); });
  if (result.status == OSB_STATUS_OK) {
    if (auto refused = taken_over(op)) {
      co_return durable(std::move(*refused));
    }
    co_return durable(ApiReply{});
  }
  co_return durable(detail::failure_reply(detail::as_failure(result)));
}

template util::Task<ApiReply> Lifecycle::end_create(state::InstanceRecord&, state::OperationRecord&,
                                                    const plugin_host::CallResult&, bool);
template util::Task<ApiReply> Lifecycle::end_create(state::BindingRecord&, state::OperationRecord&,
                                                    const plugin_host::CallResult&, bool);
template util::Task<ApiReply> Lifecycle::end_removal(state::InstanceRecord&,
                                                     state::OperationRecord&,
                                                     const plugin_host::CallResult&, bool);
template util::Task<ApiReply> Lifecycle::end_removal(state::BindingRecord&, state::OperationRecord&,
                                                     const plugin_host::CallResult&, bool);

void Lifecycle::poll_operation(state::OperationRecord& op) {
  util::MutexLock lock(stripe(op.instance_id));
  auto refresh = [&] {
    if (auto fresh = store_.get_operation(op.id)) {
      op = *fresh;
    }
  };
  refresh();
  if (op.state != OperationState::in_progress || op.plugin_operation.empty()) {
    return;
  }
  const bool for_binding = !op.binding_id.empty();
  auto instance = store_.get_instance(op.instance_id);
  std::optional<state::BindingRecord> binding;
  if (for_binding && instance) {
    binding = store_.get_binding(op.instance_id, op.binding_id);
  }
  if (!instance || (for_binding && !binding)) {
    op.state = OperationState::failed;
    op.description = for_binding ? "the binding disappeared while the operation ran"
                                 : "the instance disappeared while the operation ran";
    store_.update_operation(op);
    return;
  }
  Outcome outcome;
  if (op.deadline_ms > 0 && detail::now_ms() > op.deadline_ms) {
    outcome.description = "timed out: the plan's maximum_polling_duration has passed";
  } else {
    auto plugin = plugin_for(instance->plugin);
    if (!plugin) {
      return;  // plugin not loaded: nothing can be learnt; the platform keeps polling
    }
    const json request = {{"kind", state::to_string(op.kind)},
                          {"operation", op.plugin_operation},
                          {"instance_id", instance->id},
                          {"binding_id", for_binding ? binding->id : std::string()},
                          {"service_id", for_binding ? binding->service_id : instance->service_id},
                          {"plan_id", for_binding ? binding->plan_id : instance->plan_id},
                          {"instance_state", instance->plugin_state},
                          {"binding_state", for_binding ? binding->plugin_state : json()}};
    outcome = detail::outcome_from_poll(plugin->call(plugin_host::Operation::poll, request));
    if (outcome.state == OperationState::in_progress) {
      return;
    }
  }
  if (for_binding) {
    complete_binding(*binding, op, outcome);
  } else {
    complete_instance(*instance, op, outcome);
  }
  refresh();
}

ApiReply Lifecycle::last_operation_reply(const state::OperationRecord& op,
                                         bool resource_exists) const {
  const bool removal = op.kind == OperationKind::deprovision || op.kind == OperationKind::unbind;
  if (removal && op.state == OperationState::succeeded && !resource_exists) {
    ApiReply gone;
    gone.status = 410;
    return gone;
  }
  ApiReply r;
  r.body["state"] = state::to_string(op.state);
  if (!op.description.empty()) {
    r.body["description"] = op.description;
  }
  if (op.state == OperationState::in_progress) {
    r.headers.emplace_back("Retry-After", "2");
  }
  if (op.state == OperationState::failed && op.kind == OperationKind::update) {
    r.body["instance_usable"] = true;
    r.body["update_repeatable"] = true;
  }
  return r;
}

json Lifecycle::instance_usage(const state::InstanceRecord& instance) const {
  json usage = json::object();
  auto plugin = plugin_for(instance.plugin);
  if (!plugin || !plugin->supports(plugin_host::Operation::usage)) {
    return usage;
  }
  const json request = {{"instance_id", instance.id},
                        {"service_id", instance.service_id},
                        {"plan_id", instance.plan_id},
                        {"instance_state", instance.plugin_state}};
  const auto result = plugin->call(plugin_host::Operation::usage, request);
  if (result.status != OSB_STATUS_OK) {
    log::warn("plugin usage call failed", {{"plugin", plugin->name()},
                                           {"instance_id", instance.id},
                                           {"description", result.description}});
    return usage;
  }
  for (const char* key : {"bytes", "objects", "quota_bytes", "quota_objects"}) {
    if (auto it = result.body.find(key);
        it != result.body.end() && it->is_number_integer() && it->get<int64_t>() >= 0) {
      usage[key] = *it;
    }
  }
  if (auto it = result.body.find("over_quota"); it != result.body.end() && it->is_boolean()) {
    usage["over_quota"] = *it;
  }
  if (auto it = result.body.find("description");
      it != result.body.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
    usage["description"] = *it;
  }
  return usage;
}

int Lifecycle::poll_unfinished() {
  int finished = 0;
  std::unordered_set<std::string> abandoned;
  const auto live = live_replicas();
  for (auto& op : store_.list_unfinished_operations()) {
    if (op.owner != options_.replica_id) {
      const std::string previous_owner = op.owner;
      if (owns(op, &live) && settle_taken_over(op, previous_owner)) {
        ++finished;
      }
      continue;
    }
    if (op.async && !op.plugin_operation.empty()) {
      poll_operation(op);
    } else if (!settle_if_abandoned(op, abandoned)) {
      continue;  // a plugin call is still running for it on another worker
    }
    if (op.state != OperationState::in_progress) {
      ++finished;
    }
  }
  util::MutexLock lock(in_flight_mutex_);
  abandoned_ = std::move(abandoned);
  return finished;
}

Lifecycle::InFlight::InFlight(Lifecycle& lifecycle, std::string operation_id)
    : lifecycle_(lifecycle), operation_id_(std::move(operation_id)) {
  util::MutexLock lock(lifecycle_.in_flight_mutex_);
  lifecycle_.in_flight_.insert(operation_id_);
}

Lifecycle::InFlight::~InFlight() {
  util::MutexLock lock(lifecycle_.in_flight_mutex_);
  lifecycle_.in_flight_.erase(operation_id_);
}

bool Lifecycle::in_flight(const std::string& operation_id) const {
  util::MutexLock lock(in_flight_mutex_);
  return in_flight_.count(operation_id) != 0;
}

void Lifecycle::fail_unfinished(state::OperationRecord& op, const std::string& description) {
  const Outcome failed{OperationState::failed, json::object(), description};
  if (op.binding_id.empty()) {
    if (auto instance = store_.get_instance(op.instance_id);
        instance && instance->active_operation == op.id) {
      return complete_instance(*instance, op, failed);
    }
  } else if (auto binding = store_.get_binding(op.instance_id, op.binding_id);
             binding && binding->active_operation == op.id) {
    return complete_binding(*binding, op, failed);
  }
  op.state = OperationState::failed;
  op.description = description;
  store_.update_operation(op);
}

bool Lifecycle::settle_if_abandoned(state::OperationRecord& listed,
                                    std::unordered_set<std::string>& abandoned) {
  if (in_flight(listed.id)) {
    return false;
  }
  // Read again now that its request is known to be over: it may have finished meanwhile.
  auto op = store_.get_operation(listed.id);
  if (!op || op->state != OperationState::in_progress) {
    return false;
  }
  // Failed only when the previous sweep found it abandoned too: an operation whose request is
  // ending stays in progress for a moment after it leaves in_flight_, never for a whole interval.
  bool seen_before = false;
  {
    util::MutexLock lock(in_flight_mutex_);
    seen_before = abandoned_.count(op->id) != 0;
  }
  if (!seen_before) {
    abandoned.insert(op->id);
    return false;
  }
  fail_unfinished(*op,
                  "the broker could not record the end of this operation (its state store "
                  "failed); the operation is failed so that it can be retried or cleaned up");
  log::warn("failed an operation whose final write failed", {{"operation", op->id},
                                                             {"kind", state::to_string(op->kind)},
                                                             {"instance_id", op->instance_id},
                                                             {"binding_id", op->binding_id}});
  listed = std::move(*op);
  return true;
}

std::optional<ApiReply> Lifecycle::taken_over(const state::OperationRecord& op) {
  if (!options_.shared_store) {
    return std::nullopt;  // no other process writes to this store
  }
  const auto now = store_.get_operation(op.id);
  if (!now || now->owner == options_.replica_id) {
    return std::nullopt;
  }
  log::warn("an operation ended after another replica took it over; not acknowledged",
            {{"operation", op.id}, {"taken_by", now->owner}, {"instance_id", op.instance_id}});
  return error_reply(500, "InternalError",
                     "another broker replica took this operation over while it ran; its outcome "
                     "is not known here: fetch the resource or send the request again");
}

std::unordered_set<std::string> Lifecycle::live_replicas() const {
  const int64_t stale_before = detail::now_ms() - options_.lease_ms;
  std::unordered_set<std::string> live;
  for (const auto& replica : store_.list_replicas()) {
    if (replica.heartbeat_at_ms >= stale_before) {
      live.insert(replica.id);
    }
  }
  return live;
}

bool Lifecycle::owns(state::OperationRecord& op, const std::unordered_set<std::string>* live) {
  if (op.owner == options_.replica_id) {
    return true;
  }
  if (options_.shared_store && live != nullptr && live->count(op.owner) != 0) {
    return false;  // its owner was alive a moment ago: no need to ask the store
  }
  // Without other processes on the store, the owner was an earlier run of this one (under another
  // id: another port, say), whatever its last heartbeat says.
  const int64_t stale_before = options_.shared_store ? detail::now_ms() - options_.lease_ms
                                                     : std::numeric_limits<int64_t>::max();
  if (!store_.take_operation(op.id, options_.replica_id, stale_before)) {
    return false;
  }
  log::info("took over an operation", {{"operation", op.id},
                                       {"from_replica", op.owner},
                                       {"kind", state::to_string(op.kind)},
                                       {"instance_id", op.instance_id}});
  op.owner = options_.replica_id;
  return true;
}

bool Lifecycle::settle_taken_over(state::OperationRecord& op, const std::string& previous_owner) {
  if (op.async && !op.plugin_operation.empty()) {
    poll_operation(op);
    return op.state != OperationState::in_progress;
  }
  fail_unfinished(op, "interrupted: the broker replica running it (" + previous_owner +
                          ") stopped before it finished");
  log::warn("failed an operation of a replica that stopped", {{"operation", op.id},
                                                              {"from_replica", previous_owner},
                                                              {"instance_id", op.instance_id},
                                                              {"binding_id", op.binding_id}});
  return true;
}

int Lifecycle::recover() {
  int failed = 0;
  const auto live = live_replicas();
  for (auto& op : store_.list_unfinished_operations()) {
    if (!owns(op, &live)) {
      continue;  // a live replica runs it
    }
    if (op.async && !op.plugin_operation.empty()) {
      continue;  // the plugin holds a token: last_operation keeps polling it
    }
    fail_unfinished(op, "interrupted by a broker restart before it finished");
    log::warn("failed an operation interrupted by a restart", {{"operation", op.id},
                                                               {"kind", state::to_string(op.kind)},
                                                               {"instance_id", op.instance_id},
                                                               {"binding_id", op.binding_id}});
    ++failed;
  }
  return failed;
}

}  // namespace osbd::api

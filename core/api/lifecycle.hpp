#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "api/reply.hpp"
#include "catalog/registry.hpp"
#include "state/store.hpp"

namespace osbd::api {

/// A request routed to one OSB operation, with its path ids already decoded and validated.
struct ApiRequest {
  std::map<std::string, std::string> query;  ///< decoded query parameters
  std::string body;                          ///< raw body text
  nlohmann::json originating_identity;       ///< {"platform", "value"} decoded, null if absent
};

/// Behaviour switches of the OSB layer.
struct LifecycleOptions {
  /// Accept provision requests without organization_guid/space_guid when context is present.
  bool accept_context_only = false;
};

/// Outcome of an operation step, normalised from a synchronous call or a poll.
struct Outcome {
  state::OperationState state = state::OperationState::failed;  ///< where the operation is
  nlohmann::json body = nlohmann::json::object();               ///< plugin result body
  std::string description;                                      ///< user-facing text
};

/// The OSB v2.17 instance and binding lifecycle over the state store and the plugins. Every
/// method runs on a worker thread (it blocks on the store and on plugin calls) and records each
/// accepted change in the store before it returns the reply that promises it.
class Lifecycle {
 public:
  /// The registry is shared so a future reload can swap it while requests still use the old one.
  Lifecycle(state::Store& store, std::shared_ptr<const catalog::Registry> registry,
            LifecycleOptions options);

  /// PUT /v2/service_instances/:instance_id
  ApiReply provision(const std::string& instance_id, const ApiRequest& request);
  /// PATCH /v2/service_instances/:instance_id
  ApiReply update(const std::string& instance_id, const ApiRequest& request);
  /// DELETE /v2/service_instances/:instance_id
  ApiReply deprovision(const std::string& instance_id, const ApiRequest& request);
  /// GET /v2/service_instances/:instance_id
  ApiReply fetch_instance(const std::string& instance_id, const ApiRequest& request);
  /// GET /v2/service_instances/:instance_id/last_operation
  ApiReply instance_last_operation(const std::string& instance_id, const ApiRequest& request);
  /// PUT /v2/service_instances/:instance_id/service_bindings/:binding_id
  ApiReply bind(const std::string& instance_id, const std::string& binding_id,
                const ApiRequest& request);
  /// DELETE /v2/service_instances/:instance_id/service_bindings/:binding_id
  ApiReply unbind(const std::string& instance_id, const std::string& binding_id,
                  const ApiRequest& request);
  /// GET /v2/service_instances/:instance_id/service_bindings/:binding_id
  ApiReply fetch_binding(const std::string& instance_id, const std::string& binding_id,
                         const ApiRequest& request);
  /// GET /v2/service_instances/:instance_id/service_bindings/:binding_id/last_operation
  ApiReply binding_last_operation(const std::string& instance_id, const std::string& binding_id,
                                  const ApiRequest& request);

  /// After a restart: fails every operation that cannot be resumed (synchronous ones, whose
  /// platform got no answer, and asynchronous ones the plugin never acknowledged), so that
  /// nothing stays in progress forever. Returns how many it failed.
  int recover();

  /// Polls every acknowledged asynchronous operation once, so operations finish (and deadlines
  /// apply) even when the platform does not poll, including those resumed after a restart.
  /// Returns how many reached a final state.
  int poll_unfinished();

  /// What the plugin says the instance uses (ABI 1.1 usage call), reduced to the documented
  /// fields with their types checked: {bytes, objects, quota_bytes, quota_objects, over_quota,
  /// description}. Empty when the plugin cannot tell, is not loaded or fails (logged).
  nlohmann::json instance_usage(const state::InstanceRecord& instance) const;

 private:
  std::mutex& stripe(const std::string& key);
  plugin_host::PluginSharedPtr plugin_for(const std::string& name) const;

  void complete_instance(state::InstanceRecord instance, state::OperationRecord op,
                         const Outcome& outcome);
  void complete_binding(state::BindingRecord binding, state::OperationRecord op,
                        const Outcome& outcome);
  // Polls the plugin once for an acknowledged asynchronous operation (instance or binding) and
  // records its end; op is refreshed from the store.
  void poll_operation(state::OperationRecord& op);
  ApiReply last_operation_reply(const state::OperationRecord& op, bool resource_exists) const;

  state::Store& store_;
  std::shared_ptr<const catalog::Registry> registry_;
  LifecycleOptions options_;
  std::array<std::mutex, 64> stripes_;
};

}  // namespace osbd::api

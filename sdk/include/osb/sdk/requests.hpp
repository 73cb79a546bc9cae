#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "osb/sdk/detail/json_fields.hpp"
#include "osb/sdk/errors.hpp"

// Typed views of the request objects the host sends to a plugin. Fields are documented in
// sdk/README.md ("Requests"). Absent optional fields take their defaults: "" for strings, {} for
// objects, null for nullable objects and free-form state, false for flags. Unknown fields are
// ignored so that a newer host can add fields without breaking older plugins.

namespace osb::sdk {

/// Request of provision(): create a service instance.
struct ProvisionRequest {
  std::string instance_id;                               ///< required
  std::string service_id;                                ///< required
  std::string plan_id;                                   ///< required
  nlohmann::json parameters = nlohmann::json::object();  ///< user parameters (object)
  nlohmann::json context = nlohmann::json::object();     ///< platform context (object)
  std::string organization_guid;                         ///< deprecated by OSB; may be ""
  std::string space_guid;                                ///< deprecated by OSB; may be ""
  nlohmann::json maintenance_info;                       ///< object or null
  bool accepts_incomplete = false;                       ///< may answer IN_PROGRESS
  nlohmann::json originating_identity;                   ///< object or null
};

/// Request of deprovision(): delete a service instance (also half-created or unknown ones).
struct DeprovisionRequest {
  std::string instance_id;          ///< required
  std::string service_id;           ///< the instance's service
  std::string plan_id;              ///< the instance's plan
  nlohmann::json instance_state;    ///< as last returned; null if none
  bool accepts_incomplete = false;  ///< may answer IN_PROGRESS
};

/// Request of update(): change plan, parameters or context of an instance.
struct UpdateRequest {
  std::string instance_id;                                        ///< required
  std::string service_id;                                         ///< the instance's service
  std::string plan_id;                                            ///< the plan after the update
  std::string previous_plan_id;                                   ///< the plan before the update
  nlohmann::json parameters = nlohmann::json::object();           ///< new parameters (object)
  nlohmann::json previous_parameters = nlohmann::json::object();  ///< parameters before
  nlohmann::json context = nlohmann::json::object();              ///< platform context (object)
  nlohmann::json maintenance_info;                                ///< object or null
  nlohmann::json instance_state;    ///< as last returned; null if none
  bool accepts_incomplete = false;  ///< may answer IN_PROGRESS
};

/// Request of bind(): create a binding (credentials) for an instance.
struct BindRequest {
  std::string instance_id;                               ///< required
  std::string binding_id;                                ///< required
  std::string service_id;                                ///< required
  std::string plan_id;                                   ///< required
  nlohmann::json parameters = nlohmann::json::object();  ///< user parameters (object)
  nlohmann::json context = nlohmann::json::object();     ///< platform context (object)
  nlohmann::json bind_resource;                          ///< object or null
  std::string app_guid;                                  ///< "" when not bound to an app
  std::string predecessor_binding_id;                    ///< set when rotating a binding
  nlohmann::json instance_state;                         ///< instance state; null if none
  bool accepts_incomplete = false;                       ///< may answer IN_PROGRESS
};

/// Request of unbind(): delete a binding (also half-created or unknown ones).
struct UnbindRequest {
  std::string instance_id;          ///< required
  std::string binding_id;           ///< required
  std::string service_id;           ///< the instance's service
  std::string plan_id;              ///< the instance's plan
  nlohmann::json instance_state;    ///< instance state; null if none
  nlohmann::json binding_state;     ///< binding state; null if none
  bool accepts_incomplete = false;  ///< may answer IN_PROGRESS
};

/// The kind of operation a poll request asks about.
enum class OperationKind { provision, deprovision, update, bind, unbind };

/// The wire name of kind ("provision", ...).
inline std::string_view to_string(OperationKind kind) noexcept {
  switch (kind) {
    case OperationKind::provision:
      return "provision";
    case OperationKind::deprovision:
      return "deprovision";
    case OperationKind::update:
      return "update";
    case OperationKind::bind:
      return "bind";
    case OperationKind::unbind:
      return "unbind";
  }
  return "unknown";
}

/// The kind named text, or nullopt when text is no kind.
inline std::optional<OperationKind> operation_kind_from_string(std::string_view text) noexcept {
  for (OperationKind kind : {OperationKind::provision, OperationKind::deprovision,
                             OperationKind::update, OperationKind::bind, OperationKind::unbind}) {
    if (to_string(kind) == text) {
      return kind;
    }
  }
  return std::nullopt;
}

/// True for the kinds that act on a binding (bind, unbind).
inline bool is_binding_kind(OperationKind kind) noexcept {
  return kind == OperationKind::bind || kind == OperationKind::unbind;
}

/// Request of poll(): the state of an operation that answered IN_PROGRESS.
struct PollRequest {
  OperationKind kind = OperationKind::provision;  ///< required
  std::string operation;                          ///< the plugin's token
  std::string instance_id;                        ///< required
  std::string binding_id;                         ///< required for bind and unbind
  std::string service_id;                         ///< the instance's service
  std::string plan_id;                            ///< the instance's plan
  nlohmann::json instance_state;                  ///< instance state; null if none
  nlohmann::json binding_state;                   ///< binding state; null if none
};

/// Request of usage(): what an instance uses (ABI 1.1). Never changes anything.
struct UsageRequest {
  std::string instance_id;        ///< required
  std::string service_id;         ///< the instance's service
  std::string plan_id;            ///< the instance's plan
  nlohmann::json instance_state;  ///< instance state; null if none
};

/// Parses a provision request; throws RequestError naming the offending field.
inline void from_json(const nlohmann::json& j, ProvisionRequest& r) {
  detail::require_object(j);
  r.instance_id = detail::string_field(j, "instance_id", true);
  r.service_id = detail::string_field(j, "service_id", true);
  r.plan_id = detail::string_field(j, "plan_id", true);
  r.parameters = detail::object_field(j, "parameters");
  r.context = detail::object_field(j, "context");
  r.organization_guid = detail::string_field(j, "organization_guid");
  r.space_guid = detail::string_field(j, "space_guid");
  r.maintenance_info = detail::nullable_object_field(j, "maintenance_info");
  r.accepts_incomplete = detail::bool_field(j, "accepts_incomplete");
  r.originating_identity = detail::nullable_object_field(j, "originating_identity");
}

/// Serializes a provision request as the host sends it.
inline void to_json(nlohmann::json& j, const ProvisionRequest& r) {
  j = {{"instance_id", r.instance_id},
       {"service_id", r.service_id},
       {"plan_id", r.plan_id},
       {"parameters", r.parameters},
       {"context", r.context},
       {"organization_guid", r.organization_guid},
       {"space_guid", r.space_guid},
       {"maintenance_info", r.maintenance_info},
       {"accepts_incomplete", r.accepts_incomplete},
       {"originating_identity", r.originating_identity}};
}

/// Parses a deprovision request; throws RequestError naming the offending field.
inline void from_json(const nlohmann::json& j, DeprovisionRequest& r) {
  detail::require_object(j);
  r.instance_id = detail::string_field(j, "instance_id", true);
  r.service_id = detail::string_field(j, "service_id");
  r.plan_id = detail::string_field(j, "plan_id");
  r.instance_state = detail::any_field(j, "instance_state");
  r.accepts_incomplete = detail::bool_field(j, "accepts_incomplete");
}

/// Serializes a deprovision request as the host sends it.
inline void to_json(nlohmann::json& j, const DeprovisionRequest& r) {
  j = {{"instance_id", r.instance_id},
       {"service_id", r.service_id},
       {"plan_id", r.plan_id},
       {"instance_state", r.instance_state},
       {"accepts_incomplete", r.accepts_incomplete}};
}

/// Parses an update request; throws RequestError naming the offending field.
inline void from_json(const nlohmann::json& j, UpdateRequest& r) {
  detail::require_object(j);
  r.instance_id = detail::string_field(j, "instance_id", true);
  r.service_id = detail::string_field(j, "service_id");
  r.plan_id = detail::string_field(j, "plan_id");
  r.previous_plan_id = detail::string_field(j, "previous_plan_id");
  r.parameters = detail::object_field(j, "parameters");
  r.previous_parameters = detail::object_field(j, "previous_parameters");
  r.context = detail::object_field(j, "context");
  r.maintenance_info = detail::nullable_object_field(j, "maintenance_info");
  r.instance_state = detail::any_field(j, "instance_state");
  r.accepts_incomplete = detail::bool_field(j, "accepts_incomplete");
}

/// Serializes an update request as the host sends it.
inline void to_json(nlohmann::json& j, const UpdateRequest& r) {
  j = {{"instance_id", r.instance_id},
       {"service_id", r.service_id},
       {"plan_id", r.plan_id},
       {"previous_plan_id", r.previous_plan_id},
       {"parameters", r.parameters},
       {"previous_parameters", r.previous_parameters},
       {"context", r.context},
       {"maintenance_info", r.maintenance_info},
       {"instance_state", r.instance_state},
       {"accepts_incomplete", r.accepts_incomplete}};
}

/// Parses a bind request; throws RequestError naming the offending field.
inline void from_json(const nlohmann::json& j, BindRequest& r) {
  detail::require_object(j);
  r.instance_id = detail::string_field(j, "instance_id", true);
  r.binding_id = detail::string_field(j, "binding_id", true);
  r.service_id = detail::string_field(j, "service_id", true);
  r.plan_id = detail::string_field(j, "plan_id", true);
  r.parameters = detail::object_field(j, "parameters");
  r.context = detail::object_field(j, "context");
  r.bind_resource = detail::nullable_object_field(j, "bind_resource");
  r.app_guid = detail::string_field(j, "app_guid");
  r.predecessor_binding_id = detail::string_field(j, "predecessor_binding_id");
  r.instance_state = detail::any_field(j, "instance_state");
  r.accepts_incomplete = detail::bool_field(j, "accepts_incomplete");
}

/// Serializes a bind request as the host sends it.
inline void to_json(nlohmann::json& j, const BindRequest& r) {
  j = {{"instance_id", r.instance_id},
       {"binding_id", r.binding_id},
       {"service_id", r.service_id},
       {"plan_id", r.plan_id},
       {"parameters", r.parameters},
       {"context", r.context},
       {"bind_resource", r.bind_resource},
       {"app_guid", r.app_guid},
       {"predecessor_binding_id", r.predecessor_binding_id},
       {"instance_state", r.instance_state},
       {"accepts_incomplete", r.accepts_incomplete}};
}

/// Parses an unbind request; throws RequestError naming the offending field.
inline void from_json(const nlohmann::json& j, UnbindRequest& r) {
  detail::require_object(j);
  r.instance_id = detail::string_field(j, "instance_id", true);
  r.binding_id = detail::string_field(j, "binding_id", true);
  r.service_id = detail::string_field(j, "service_id");
  r.plan_id = detail::string_field(j, "plan_id");
  r.instance_state = detail::any_field(j, "instance_state");
  r.binding_state = detail::any_field(j, "binding_state");
  r.accepts_incomplete = detail::bool_field(j, "accepts_incomplete");
}

/// Serializes an unbind request as the host sends it.
inline void to_json(nlohmann::json& j, const UnbindRequest& r) {
  j = {{"instance_id", r.instance_id},
       {"binding_id", r.binding_id},
       {"service_id", r.service_id},
       {"plan_id", r.plan_id},
       {"instance_state", r.instance_state},
       {"binding_state", r.binding_state},
       {"accepts_incomplete", r.accepts_incomplete}};
}

/// Parses a poll request; throws RequestError naming the offending field.
inline void from_json(const nlohmann::json& j, PollRequest& r) {
  detail::require_object(j);
  const std::string kind = detail::string_field(j, "kind", true);
  const std::optional<OperationKind> parsed = operation_kind_from_string(kind);
  if (!parsed) {
    detail::field_error("kind", "expected provision, deprovision, update, bind or unbind");
  }
  r.kind = *parsed;
  r.operation = detail::string_field(j, "operation");
  r.instance_id = detail::string_field(j, "instance_id", true);
  r.binding_id = detail::string_field(j, "binding_id", is_binding_kind(r.kind));
  r.service_id = detail::string_field(j, "service_id");
  r.plan_id = detail::string_field(j, "plan_id");
  r.instance_state = detail::any_field(j, "instance_state");
  r.binding_state = detail::any_field(j, "binding_state");
}

/// Serializes a poll request as the host sends it.
inline void to_json(nlohmann::json& j, const PollRequest& r) {
  j = {{"kind", to_string(r.kind)},          {"operation", r.operation},
       {"instance_id", r.instance_id},       {"binding_id", r.binding_id},
       {"service_id", r.service_id},         {"plan_id", r.plan_id},
       {"instance_state", r.instance_state}, {"binding_state", r.binding_state}};
}

/// Parses a usage request; throws RequestError naming the offending field.
inline void from_json(const nlohmann::json& j, UsageRequest& r) {
  detail::require_object(j);
  r.instance_id = detail::string_field(j, "instance_id", true);
  r.service_id = detail::string_field(j, "service_id");
  r.plan_id = detail::string_field(j, "plan_id");
  r.instance_state = detail::any_field(j, "instance_state");
}

/// Serializes a usage request as the host sends it.
inline void to_json(nlohmann::json& j, const UsageRequest& r) {
  j = {{"instance_id", r.instance_id},
       {"service_id", r.service_id},
       {"plan_id", r.plan_id},
       {"instance_state", r.instance_state}};
}

}  // namespace osb::sdk

#pragma once

#include <string>

namespace osbd::state {

/// The columns of each record's table, the same in every store: every SELECT of a record lists
/// them in this order, and each store's readers take them in it.
inline constexpr const char* kInstanceColumns =
    "id, service_id, plan_id, plugin, organization_guid, space_guid, parameters, context, "
    "originating_identity, maintenance_info, dashboard_url, metadata, plugin_state, status, "
    "active_operation, last_operation, created_at_ms, updated_at_ms";
/// See kInstanceColumns.
inline constexpr const char* kBindingColumns =
    "instance_id, id, service_id, plan_id, app_guid, parameters, context, bind_resource, "
    "response, plugin_state, status, active_operation, last_operation, created_at_ms, "
    "updated_at_ms";
/// See kInstanceColumns.
inline constexpr const char* kOperationColumns =
    "id, instance_id, binding_id, kind, state, description, async, plugin_operation, request, "
    "attempts, created_at_ms, updated_at_ms, deadline_ms, owner";
/// See kInstanceColumns.
inline constexpr const char* kReplicaColumns =
    "id, host, version, listen, plugins, catalog_fingerprint, started_at_ms, heartbeat_at_ms";

/// "SELECT <columns> <rest>".
inline std::string select_from(const char* columns, const char* rest) {
  return std::string("SELECT ") + columns + " " + rest;
}

}  // namespace osbd::state

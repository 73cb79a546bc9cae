#pragma once

#include <string>

#include "state/record_codec.hpp"
#include "state/records.hpp"
#include "state/sqlite_db.hpp"

namespace osbd::state::sqlite {

/// Column lists shared by every SELECT of a record; the read_* functions take columns in this
/// order.
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
std::string select_from(const char* columns, const char* rest);

/// The instance or binding an operation acts on (binding_id "" for the instance itself).
struct ResourceKey {
  const std::string& instance_id;
  const std::string& binding_id;
};

/// Binds every column of an instance row (":id", ":service_id", ...) for an INSERT; status and
/// active_operation (also its last_operation) are the ones the row starts with.
void bind_instance(Statement& st, const RecordCodec& codec, const InstanceRecord& r,
                   ResourceStatus status, const std::string& active_operation);
/// Binds every column of a binding row for an INSERT; see bind_instance.
void bind_binding(Statement& st, const RecordCodec& codec, const BindingRecord& r,
                  ResourceStatus status, const std::string& active_operation);
/// Binds every column of an operation row; its instance_id and binding_id are taken from the
/// resource the store acts on, so that the row names the resource it belongs to.
void bind_operation(Statement& st, const RecordCodec& codec, const OperationRecord& op,
                    const ResourceKey& on);
/// Binds the columns the end of an operation changes (see Store::finish_instance_operation).
void bind_operation_end(Statement& st, const OperationRecord& op);

/// Binds every column of a replica row (":id", ":host", ...).
void bind_replica(Statement& st, const RecordCodec& codec, const ReplicaRecord& r);
/// The replica in the current row of a SELECT of kReplicaColumns.
ReplicaRecord read_replica(const Statement& st, const RecordCodec& codec);

/// The instance in the current row of a SELECT of kInstanceColumns.
InstanceRecord read_instance(const Statement& st, const RecordCodec& codec);
/// The binding in the current row of a SELECT of kBindingColumns.
BindingRecord read_binding(const Statement& st, const RecordCodec& codec);
/// The operation in the current row of a SELECT of kOperationColumns.
OperationRecord read_operation(const Statement& st, const RecordCodec& codec);

}  // namespace osbd::state::sqlite

#pragma once

#include <string>

#include "state/columns.hpp"
#include "state/record_codec.hpp"
#include "state/records.hpp"
#include "state/sqlite_db.hpp"

namespace osbd::state::sqlite {

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

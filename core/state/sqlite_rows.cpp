#include "state/sqlite_rows.hpp"

#include <initializer_list>

namespace osbd::state::sqlite {

namespace {

// Binds the lifecycle columns but status, which the caller binds: a new row starts with
// active_operation as its active and its last operation.
void bind_lifecycle(Statement& st, const RecordCodec& codec, const ResourceLifecycle& r,
                    const char* plugin_state_column, const std::string& active_operation) {
  st.bind_nullable(":plugin_state", codec.encode(r.plugin_state, plugin_state_column))
      .bind(":active_operation", active_operation)
      .bind(":last_operation", active_operation)
      .bind(":created_at_ms", r.created_at_ms)
      .bind(":updated_at_ms", r.updated_at_ms);
}

// Reads text columns from first on into fields, in order; returns the column after them.
template <typename... Fields>
int read_texts(const Statement& st, int first, Fields&... fields) {
  int i = first;
  ((fields = st.text(i++)), ...);
  return i;
}

// A JSON field of a record and the column it is kept in, for error messages.
struct JsonField {
  nlohmann::json* field;
  const char* column;
};

// Decodes JSON columns from first on into fields, in order; returns the column after them.
int read_json(const Statement& st, const RecordCodec& codec, int first,
              std::initializer_list<JsonField> fields) {
  int i = first;
  for (const JsonField& f : fields) {
    *f.field = codec.decode(st.optional_text(i++), f.column);
  }
  return i;
}

// Reads the lifecycle columns, which both tables keep in the same order from column first on.
void read_lifecycle(const Statement& st, const RecordCodec& codec, int first,
                    const char* plugin_state_column, ResourceLifecycle& r) {
  r.plugin_state = codec.decode(st.optional_text(first), plugin_state_column);
  r.status = codec.status(st.text(first + 1));
  r.active_operation = st.text(first + 2);
  r.last_operation = st.text(first + 3);
  r.created_at_ms = st.integer(first + 4);
  r.updated_at_ms = st.integer(first + 5);
}

}  // namespace

void bind_instance(Statement& st, const RecordCodec& codec, const InstanceRecord& r,
                   ResourceStatus status, const std::string& active_operation) {
  st.bind(":id", r.id)
      .bind(":service_id", r.service_id)
      .bind(":plan_id", r.plan_id)
      .bind(":plugin", r.plugin)
      .bind(":organization_guid", r.organization_guid)
      .bind(":space_guid", r.space_guid)
      .bind_nullable(":parameters", codec.encode(r.parameters, "instances.parameters"))
      .bind_nullable(":context", codec.encode(r.context, "instances.context"))
      .bind_nullable(":originating_identity",
                     codec.encode(r.originating_identity, "instances.originating_identity"))
      .bind_nullable(":maintenance_info",
                     codec.encode(r.maintenance_info, "instances.maintenance_info"))
      .bind(":dashboard_url", r.dashboard_url)
      .bind_nullable(":metadata", codec.encode(r.metadata, "instances.metadata"))
      .bind(":status", to_string(status));
  bind_lifecycle(st, codec, r, "instances.plugin_state", active_operation);
}

void bind_binding(Statement& st, const RecordCodec& codec, const BindingRecord& r,
                  ResourceStatus status, const std::string& active_operation) {
  st.bind(":instance_id", r.instance_id)
      .bind(":id", r.id)
      .bind(":service_id", r.service_id)
      .bind(":plan_id", r.plan_id)
      .bind(":app_guid", r.app_guid)
      .bind_nullable(":parameters", codec.encode(r.parameters, "bindings.parameters"))
      .bind_nullable(":context", codec.encode(r.context, "bindings.context"))
      .bind_nullable(":bind_resource", codec.encode(r.bind_resource, "bindings.bind_resource"))
      .bind_nullable(":response", codec.encode_sealed(r.response, "bindings.response"))
      .bind(":status", to_string(status));
  bind_lifecycle(st, codec, r, "bindings.plugin_state", active_operation);
}

void bind_operation(Statement& st, const RecordCodec& codec, const OperationRecord& op,
                    const ResourceKey& on) {
  bind_operation_end(st, op);
  st.bind(":instance_id", on.instance_id)
      .bind(":binding_id", on.binding_id)
      .bind(":kind", to_string(op.kind))
      .bind_bool(":async", op.async)
      .bind_nullable(":request", codec.encode(op.request, "operations.request"))
      .bind(":created_at_ms", op.created_at_ms)
      .bind(":owner", op.owner);
}

void bind_operation_end(Statement& st, const OperationRecord& op) {
  st.bind(":id", op.id)
      .bind(":state", to_string(op.state))
      .bind(":description", op.description)
      .bind(":plugin_operation", op.plugin_operation)
      .bind(":attempts", static_cast<int64_t>(op.attempts))
      .bind(":updated_at_ms", op.updated_at_ms)
      .bind(":deadline_ms", op.deadline_ms);
}

InstanceRecord read_instance(const Statement& st, const RecordCodec& codec) {
  InstanceRecord r;
  int i =
      read_texts(st, 0, r.id, r.service_id, r.plan_id, r.plugin, r.organization_guid, r.space_guid);
  i = read_json(st, codec, i,
                {{&r.parameters, "instances.parameters"},
                 {&r.context, "instances.context"},
                 {&r.originating_identity, "instances.originating_identity"},
                 {&r.maintenance_info, "instances.maintenance_info"}});
  i = read_texts(st, i, r.dashboard_url);
  i = read_json(st, codec, i, {{&r.metadata, "instances.metadata"}});
  read_lifecycle(st, codec, i, "instances.plugin_state", r);
  return r;
}

BindingRecord read_binding(const Statement& st, const RecordCodec& codec) {
  BindingRecord r;
  int i = read_texts(st, 0, r.instance_id, r.id, r.service_id, r.plan_id, r.app_guid);
  i = read_json(st, codec, i,
                {{&r.parameters, "bindings.parameters"},
                 {&r.context, "bindings.context"},
                 {&r.bind_resource, "bindings.bind_resource"}});
  r.response = codec.decode_sealed(st.optional_text(i), "bindings.response");
  read_lifecycle(st, codec, i + 1, "bindings.plugin_state", r);
  return r;
}

OperationRecord read_operation(const Statement& st, const RecordCodec& codec) {
  OperationRecord r;
  r.id = st.text(0);
  r.instance_id = st.text(1);
  r.binding_id = st.text(2);
  r.kind = codec.kind(st.text(3));
  r.state = codec.state(st.text(4));
  r.description = st.text(5);
  r.async = st.integer(6) != 0;
  r.plugin_operation = st.text(7);
  r.request = codec.decode(st.optional_text(8), "operations.request");
  r.attempts = static_cast<int>(st.integer(9));
  r.created_at_ms = st.integer(10);
  r.updated_at_ms = st.integer(11);
  r.deadline_ms = st.integer(12);
  r.owner = st.text(13);
  return r;
}

void bind_replica(Statement& st, const RecordCodec& codec, const ReplicaRecord& r) {
  st.bind(":id", r.id)
      .bind(":host", r.host)
      .bind(":version", r.version)
      .bind(":listen", r.listen)
      .bind_nullable(":plugins", codec.encode(r.plugins, "replicas.plugins"))
      .bind(":catalog_fingerprint", r.catalog_fingerprint)
      .bind(":started_at_ms", r.started_at_ms)
      .bind(":heartbeat_at_ms", r.heartbeat_at_ms);
}

ReplicaRecord read_replica(const Statement& st, const RecordCodec& codec) {
  ReplicaRecord r;
  int i = read_texts(st, 0, r.id, r.host, r.version, r.listen);
  i = read_json(st, codec, i, {{&r.plugins, "replicas.plugins"}});
  r.catalog_fingerprint = st.text(i);
  r.started_at_ms = st.integer(i + 1);
  r.heartbeat_at_ms = st.integer(i + 2);
  return r;
}

}  // namespace osbd::state::sqlite

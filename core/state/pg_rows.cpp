#include "state/pg_rows.hpp"

#include <algorithm>
#include <initializer_list>
#include <stdexcept>

#include <pqxx/field>
#include <pqxx/prepared_statement>

namespace osbd::state::pg {

namespace {

// Adds the lifecycle columns, which both resource tables keep in the same order at their end.
void add_lifecycle(Params& p, const RecordCodec& codec, const ResourceLifecycle& r,
                   const char* plugin_state_column, const RowLifecycle& lifecycle) {
  p.nullable(codec.encode(r.plugin_state, plugin_state_column))
      .text(to_string(lifecycle.status))
      .text(lifecycle.active_operation)
      .text(lifecycle.last_operation)
      .integer(r.created_at_ms)
      .integer(r.updated_at_ms);
}

std::optional<std::string> optional_text_of(const pqxx::field& f) {
  if (f.is_null()) {
    return std::nullopt;
  }
  return std::string(f.c_str(), f.size());
}

// Reads text columns from first on into fields, in order; returns the column after them.
template <typename... Fields>
int read_texts(const pqxx::row& row, int first, Fields&... fields) {
  int i = first;
  ((fields = text_of(row[i++])), ...);
  return i;
}

// A JSON field of a record and the column it is kept in, for error messages.
struct JsonField {
  nlohmann::json* field;
  const char* column;
};

// Decodes JSON columns from first on into fields, in order; returns the column after them.
int read_json(const pqxx::row& row, const RecordCodec& codec, int first,
              std::initializer_list<JsonField> fields) {
  int i = first;
  for (const JsonField& f : fields) {
    *f.field = codec.decode(optional_text_of(row[i++]), f.column);
  }
  return i;
}

// Reads the lifecycle columns, which both tables keep in the same order from column first on.
void read_lifecycle(const pqxx::row& row, const RecordCodec& codec, int first,
                    const char* plugin_state_column, ResourceLifecycle& r) {
  r.plugin_state = codec.decode(optional_text_of(row[first]), plugin_state_column);
  r.status = codec.status(text_of(row[first + 1]));
  r.active_operation = text_of(row[first + 2]);
  r.last_operation = text_of(row[first + 3]);
  r.created_at_ms = integer_of(row[first + 4]);
  r.updated_at_ms = integer_of(row[first + 5]);
}

}  // namespace

std::string insert_into(const char* table, const char* columns, const char* rest) {
  const std::string_view list(columns);
  const auto count = std::count(list.begin(), list.end(), ',') + 1;
  std::string sql = std::string("INSERT INTO ") + table + " (" + columns + ") VALUES (";
  for (int i = 1; i <= count; ++i) {
    sql += (i == 1 ? "$" : ", $") + std::to_string(i);
  }
  sql += ")";
  if (*rest != '\0') {
    sql += " ";
    sql += rest;
  }
  return sql;
}

RowLifecycle starting(const std::string& op_id) {
  return {ResourceStatus::creating, op_id, op_id};
}

RowLifecycle as_recorded(const ResourceLifecycle& r) {
  return {r.status, r.active_operation, r.last_operation};
}

Params& Params::text(std::string_view value) {
  if (value.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("parameter $" + std::to_string(values_.size() + 1) +
                                " holds a NUL byte, which PostgreSQL text cannot store");
  }
  values_.emplace_back(std::string(value));
  return *this;
}

Params& Params::nullable(const std::optional<std::string>& value) {
  if (!value) {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  return text(*value);
}

Params& Params::integer(int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}

Params& Params::boolean(bool value) {
  values_.emplace_back(value ? "true" : "false");
  return *this;
}

pqxx::result exec(Transaction& tx, const std::string& sql, const Params& params) {
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params.values()));
}

void add_instance(Params& p, const RecordCodec& codec, const InstanceRecord& r,
                  const RowLifecycle& lifecycle) {
  p.text(r.id)
      .text(r.service_id)
      .text(r.plan_id)
      .text(r.plugin)
      .text(r.organization_guid)
      .text(r.space_guid)
      .nullable(codec.encode(r.parameters, "instances.parameters"))
      .nullable(codec.encode(r.context, "instances.context"))
      .nullable(codec.encode(r.originating_identity, "instances.originating_identity"))
      .nullable(codec.encode(r.maintenance_info, "instances.maintenance_info"))
      .text(r.dashboard_url)
      .nullable(codec.encode(r.metadata, "instances.metadata"));
  add_lifecycle(p, codec, r, "instances.plugin_state", lifecycle);
}

void add_binding(Params& p, const RecordCodec& codec, const BindingRecord& r,
                 const RowLifecycle& lifecycle) {
  p.text(r.instance_id)
      .text(r.id)
      .text(r.service_id)
      .text(r.plan_id)
      .text(r.app_guid)
      .nullable(codec.encode(r.parameters, "bindings.parameters"))
      .nullable(codec.encode(r.context, "bindings.context"))
      .nullable(codec.encode(r.bind_resource, "bindings.bind_resource"))
      .nullable(codec.encode_sealed(r.response, "bindings.response"));
  add_lifecycle(p, codec, r, "bindings.plugin_state", lifecycle);
}

void add_operation(Params& p, const RecordCodec& codec, const OperationRecord& op,
                   const ResourceKey& on) {
  p.text(op.id)
      .text(on.instance_id)
      .text(on.binding_id)
      .text(to_string(op.kind))
      .text(to_string(op.state))
      .text(op.description)
      .boolean(op.async)
      .text(op.plugin_operation)
      .nullable(codec.encode(op.request, "operations.request"))
      .integer(op.attempts)
      .integer(op.created_at_ms)
      .integer(op.updated_at_ms)
      .integer(op.deadline_ms)
      .text(op.owner);
}

void add_operation_end(Params& p, const OperationRecord& op) {
  p.text(op.id)
      .text(to_string(op.state))
      .text(op.description)
      .text(op.plugin_operation)
      .integer(op.attempts)
      .integer(op.updated_at_ms)
      .integer(op.deadline_ms);
}

void add_replica(Params& p, const RecordCodec& codec, const ReplicaRecord& r) {
  p.text(r.id)
      .text(r.host)
      .text(r.version)
      .text(r.listen)
      .nullable(codec.encode(r.plugins, "replicas.plugins"))
      .text(r.catalog_fingerprint)
      .integer(r.started_at_ms)
      .integer(r.heartbeat_at_ms);
}

InstanceRecord read_instance(const pqxx::row& row, const RecordCodec& codec) {
  InstanceRecord r;
  int i = read_texts(row, 0, r.id, r.service_id, r.plan_id, r.plugin, r.organization_guid,
                     r.space_guid);
  i = read_json(row, codec, i,
                {{&r.parameters, "instances.parameters"},
                 {&r.context, "instances.context"},
                 {&r.originating_identity, "instances.originating_identity"},
                 {&r.maintenance_info, "instances.maintenance_info"}});
  i = read_texts(row, i, r.dashboard_url);
  i = read_json(row, codec, i, {{&r.metadata, "instances.metadata"}});
  read_lifecycle(row, codec, i, "instances.plugin_state", r);
  return r;
}

BindingRecord read_binding(const pqxx::row& row, const RecordCodec& codec) {
  BindingRecord r;
  int i = read_texts(row, 0, r.instance_id, r.id, r.service_id, r.plan_id, r.app_guid);
  i = read_json(row, codec, i,
                {{&r.parameters, "bindings.parameters"},
                 {&r.context, "bindings.context"},
                 {&r.bind_resource, "bindings.bind_resource"}});
  r.response = codec.decode_sealed(optional_text_of(row[i]), "bindings.response");
  read_lifecycle(row, codec, i + 1, "bindings.plugin_state", r);
  return r;
}

OperationRecord read_operation(const pqxx::row& row, const RecordCodec& codec) {
  OperationRecord r;
  r.id = text_of(row[0]);
  r.instance_id = text_of(row[1]);
  r.binding_id = text_of(row[2]);
  r.kind = codec.kind(text_of(row[3]));
  r.state = codec.state(text_of(row[4]));
  r.description = text_of(row[5]);
  r.async = row[6].as<bool>();
  r.plugin_operation = text_of(row[7]);
  r.request = codec.decode(optional_text_of(row[8]), "operations.request");
  r.attempts = static_cast<int>(integer_of(row[9]));
  r.created_at_ms = integer_of(row[10]);
  r.updated_at_ms = integer_of(row[11]);
  r.deadline_ms = integer_of(row[12]);
  r.owner = text_of(row[13]);
  return r;
}

ReplicaRecord read_replica(const pqxx::row& row, const RecordCodec& codec) {
  ReplicaRecord r;
  const int i = read_texts(row, 0, r.id, r.host, r.version, r.listen);
  r.plugins = codec.decode(optional_text_of(row[i]), "replicas.plugins");
  r.catalog_fingerprint = text_of(row[i + 1]);
  r.started_at_ms = integer_of(row[i + 2]);
  r.heartbeat_at_ms = integer_of(row[i + 3]);
  return r;
}

std::string text_of(const pqxx::field& f) {
  return f.is_null() ? std::string() : std::string(f.c_str(), f.size());
}

int64_t integer_of(const pqxx::field& f) {
  return f.is_null() ? 0 : f.as<int64_t>();
}

}  // namespace osbd::state::pg

// The SQLite store's binding methods: see SqliteStore.

#include <string>

#include "state/sqlite_store.hpp"

namespace osbd::state::sqlite {

namespace {

// One conditional insert decides: it writes only when the instance is ready and idle and the
// binding id is free.
constexpr Claim kCreateBinding{
    "INSERT INTO bindings (instance_id, id, service_id, plan_id, app_guid, "
    "parameters, context, bind_resource, response, plugin_state, status, "
    "active_operation, last_operation, created_at_ms, updated_at_ms) "
    "SELECT :instance_id, :id, :service_id, :plan_id, :app_guid, :parameters, "
    ":context, :bind_resource, :response, :plugin_state, :status, "
    ":active_operation, :last_operation, :created_at_ms, :updated_at_ms "
    "WHERE EXISTS (SELECT 1 FROM instances WHERE id = :instance_id AND "
    "status = 'ready' AND active_operation = '') "
    "ON CONFLICT (instance_id, id) DO NOTHING",
    "create binding"};

// The binding claims of begin_binding_operation and supersede_binding_operation: see claim.
constexpr Claim kBeginBindingOperation{
    "UPDATE bindings SET status = :status, active_operation = :op, last_operation = :op, "
    "updated_at_ms = MAX(updated_at_ms, :at) WHERE instance_id = :instance_id AND id = :id "
    "AND active_operation = '' AND NOT EXISTS (SELECT 1 FROM instances WHERE id = :instance_id "
    "AND active_operation <> '')",
    "begin binding operation"};

constexpr Claim kSupersedeBindingOperation{
    "UPDATE bindings SET status = :status, active_operation = :op, last_operation = :op, "
    "updated_at_ms = MAX(updated_at_ms, :at) WHERE instance_id = :instance_id AND id = :id "
    "AND active_operation = :superseded",
    "supersede binding operation"};

}  // namespace

BeginResult SqliteStore::begin_create_binding(const BindingRecord& binding,
                                              const OperationRecord& op) {
  return create(
      kCreateBinding, {binding.instance_id, binding.id}, op,
      [&](Statement& st) { bind_binding(st, codec_, binding, ResourceStatus::creating, op.id); },
      [&] { return explain_create_binding_refusal(binding.instance_id, binding.id); });
}

BeginResult SqliteStore::begin_binding_operation(const std::string& instance_id,
                                                 const std::string& binding_id,
                                                 const OperationRecord& op,
                                                 ResourceStatus new_status) {
  return claim(
      kBeginBindingOperation, {instance_id, binding_id}, nullptr, op, new_status,
      [&](Statement& st) { st.bind(":instance_id", instance_id).bind(":id", binding_id); });
}

BeginResult SqliteStore::supersede_binding_operation(const std::string& instance_id,
                                                     const std::string& binding_id,
                                                     const OperationRecord& superseded,
                                                     const OperationRecord& op,
                                                     ResourceStatus new_status) {
  return claim(kSupersedeBindingOperation, {instance_id, binding_id}, &superseded, op, new_status,
               [&](Statement& st) {
                 st.bind(":instance_id", instance_id)
                     .bind(":id", binding_id)
                     .bind(":superseded", superseded.id);
               });
}

void SqliteStore::finish_binding_operation(const BindingRecord& binding,
                                           const OperationRecord& op) {
  write([&] {
    // See finish_instance_operation for why the write is conditional.
    Statement upd(writer_,
                  "UPDATE bindings SET response = :response, plugin_state = :plugin_state, "
                  "status = :status, active_operation = '', last_operation = :op, "
                  "updated_at_ms = :updated_at_ms "
                  "WHERE instance_id = :instance_id AND id = :id AND active_operation = :op",
                  "finish binding operation");
    upd.bind(":instance_id", binding.instance_id)
        .bind(":id", binding.id)
        .bind_nullable(":response", codec_.encode_sealed(binding.response, "bindings.response"));
    finish(upd, binding, "bindings.plugin_state", op, {binding.instance_id, binding.id});
  });
}

void SqliteStore::delete_binding(const std::string& instance_id, const std::string& binding_id,
                                 const OperationRecord& op) {
  write([&] {
    Statement del(writer_, "DELETE FROM bindings WHERE instance_id = :instance_id AND id = :id",
                  "delete binding");
    del.bind(":instance_id", instance_id).bind(":id", binding_id).run();
    mark_removed({instance_id, binding_id}, op);
    end_operation(op, {instance_id, binding_id});
  });
}

void SqliteStore::discard_binding(const std::string& instance_id, const std::string& binding_id,
                                  const std::string& op_id) {
  write([&] {
    Statement del(writer_,
                  "DELETE FROM bindings WHERE instance_id = :instance_id AND id = :id "
                  "AND active_operation = :op",
                  "discard binding");
    del.bind(":instance_id", instance_id).bind(":id", binding_id).bind(":op", op_id).run();
    delete_operation_row(op_id);
  });
}

std::optional<BindingRecord> SqliteStore::get_binding(const std::string& instance_id,
                                                      const std::string& binding_id) {
  return read_one(
      select_from(kBindingColumns, "FROM bindings WHERE instance_id = :instance_id AND id = :id"),
      "read binding",
      [&](Statement& st) { st.bind(":instance_id", instance_id).bind(":id", binding_id); },
      read_binding);
}

std::vector<BindingRecord> SqliteStore::list_bindings(const std::string& instance_id) {
  return read_all(
      select_from(kBindingColumns,
                  "FROM bindings WHERE instance_id = :instance_id ORDER BY created_at_ms, rowid"),
      "list bindings", [&](Statement& st) { st.bind(":instance_id", instance_id); }, read_binding);
}

// Runs inside the refused transaction, so it sees exactly the state the insert saw. A binding
// that exists is reported as such even while the instance is busy: the caller then compares it
// with the request, and an identical repeat of a finished bind is not a conflict.
BeginResult SqliteStore::explain_create_binding_refusal(const std::string& instance_id,
                                                        const std::string& binding_id) {
  Statement st(writer_, "SELECT status, active_operation FROM instances WHERE id = :id",
               "read instance");
  st.bind(":id", instance_id);
  if (!st.step() || st.text(0) != to_string(ResourceStatus::ready)) {
    return BeginResult::missing;
  }
  return exists({instance_id, binding_id}) ? BeginResult::exists : BeginResult::busy;
}

}  // namespace osbd::state::sqlite

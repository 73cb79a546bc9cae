// The PostgreSQL store's binding methods: see PgStore.

#include <string>

#include "state/pg_store.hpp"

namespace osbd::state::pg {

namespace {

// One conditional insert decides: it writes only when the instance is ready and idle and the
// binding id is free. Its parameters are kBindingColumns in order; the casts are needed because
// a SELECT list gives its parameters no column type.
const Claim kCreateBinding{
    std::string("INSERT INTO bindings (") + kBindingColumns +
        ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::bigint, "
        "$15::bigint WHERE EXISTS (SELECT 1 FROM instances WHERE id = $1 AND status = 'ready' "
        "AND active_operation = '') ON CONFLICT (instance_id, id) DO NOTHING",
    "create binding"};

// The binding claims of begin_binding_operation and supersede_binding_operation: see claim.
const Claim kBeginBindingOperation{
    "UPDATE bindings SET status = $1, active_operation = $2, last_operation = $2, "
    "updated_at_ms = GREATEST(updated_at_ms, $3) WHERE instance_id = $4 AND id = $5 "
    "AND active_operation = '' AND NOT EXISTS (SELECT 1 FROM instances WHERE id = $4 "
    "AND active_operation <> '')",
    "begin binding operation"};

const Claim kSupersedeBindingOperation{
    "UPDATE bindings SET status = $1, active_operation = $2, last_operation = $2, "
    "updated_at_ms = GREATEST(updated_at_ms, $3) WHERE instance_id = $4 AND id = $5 "
    "AND active_operation = $6",
    "supersede binding operation"};

}  // namespace

BeginResult PgStore::begin_create_binding(const BindingRecord& binding, const OperationRecord& op) {
  return create(
      kCreateBinding, InstanceLock::shared, {binding.instance_id, binding.id}, op,
      [&](Params& p) { add_binding(p, codec_, binding, starting(op.id)); },
      [&](Transaction& tx) {
        return explain_create_binding_refusal(tx, binding.instance_id, binding.id);
      });
}

BeginResult PgStore::begin_binding_operation(const std::string& instance_id,
                                             const std::string& binding_id,
                                             const OperationRecord& op, ResourceStatus new_status) {
  return claim(kBeginBindingOperation, InstanceLock::shared, {instance_id, binding_id}, nullptr, op,
               new_status, [&](Params& p) { p.text(instance_id).text(binding_id); });
}

BeginResult PgStore::supersede_binding_operation(const std::string& instance_id,
                                                 const std::string& binding_id,
                                                 const OperationRecord& superseded,
                                                 const OperationRecord& op,
                                                 ResourceStatus new_status) {
  // The binding is busy already, so no instance start can race this one: no lock.
  return claim(kSupersedeBindingOperation, InstanceLock::none, {instance_id, binding_id},
               &superseded, op, new_status,
               [&](Params& p) { p.text(instance_id).text(binding_id).text(superseded.id); });
}

void PgStore::finish_binding_operation(const BindingRecord& binding, const OperationRecord& op) {
  // See finish_instance_operation for why the write is conditional.
  static const std::string sql =
      "UPDATE bindings SET response = $3, plugin_state = $4, status = $5, "
      "active_operation = '', last_operation = $6, updated_at_ms = $7 "
      "WHERE instance_id = $1 AND id = $2 AND active_operation = $6";
  pool_.transact("finish binding operation", [&](Transaction& tx) {
    Params p;
    p.text(binding.instance_id)
        .text(binding.id)
        .nullable(codec_.encode_sealed(binding.response, "bindings.response"));
    finish(tx, sql, p, binding, "bindings.plugin_state", op, {binding.instance_id, binding.id});
  });
}

void PgStore::delete_binding(const std::string& instance_id, const std::string& binding_id,
                             const OperationRecord& op) {
  pool_.transact("delete binding", [&](Transaction& tx) {
    exec(tx, "DELETE FROM bindings WHERE instance_id = $1 AND id = $2",
         Params().text(instance_id).text(binding_id));
    end_operation(tx, op, {instance_id, binding_id});
  });
}

void PgStore::discard_binding(const std::string& instance_id, const std::string& binding_id,
                              const std::string& op_id) {
  pool_.transact("discard binding", [&](Transaction& tx) {
    exec(tx, "DELETE FROM bindings WHERE instance_id = $1 AND id = $2 AND active_operation = $3",
         Params().text(instance_id).text(binding_id).text(op_id));
    delete_operation_row(tx, op_id);
  });
}

std::optional<BindingRecord> PgStore::get_binding(const std::string& instance_id,
                                                  const std::string& binding_id) {
  static const std::string sql =
      select_from(kBindingColumns, "FROM bindings WHERE instance_id = $1 AND id = $2");
  return read_one(sql, "read binding", Params().text(instance_id).text(binding_id), read_binding);
}

std::vector<BindingRecord> PgStore::list_bindings(const std::string& instance_id) {
  static const std::string sql = select_from(
      kBindingColumns, "FROM bindings WHERE instance_id = $1 ORDER BY created_at_ms, seq");
  return read_all(sql, "list bindings", Params().text(instance_id), read_binding);
}

// Runs inside the refused transaction, after the insert, under the instance lock: it sees the
// state the insert decided on. A binding that exists is reported as such even while the instance
// is busy: the caller then compares it with the request, and an identical repeat of a finished
// bind is not a conflict.
BeginResult PgStore::explain_create_binding_refusal(Transaction& tx, const std::string& instance_id,
                                                    const std::string& binding_id) {
  const pqxx::result rows =
      exec(tx, "SELECT status FROM instances WHERE id = $1", Params().text(instance_id));
  if (rows.empty() || text_of(rows[0][0]) != to_string(ResourceStatus::ready)) {
    return BeginResult::missing;
  }
  return exists(tx, {instance_id, binding_id}) ? BeginResult::exists : BeginResult::busy;
}

}  // namespace osbd::state::pg

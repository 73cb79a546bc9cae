// The PostgreSQL store's operation rows, and the claims that start an operation on a resource:
// see PgStore.

#include <string>

#include "state/pg_store.hpp"

namespace osbd::state::pg {

namespace {

// A new operation id must be new: a clash is a broken id generator and fails the transaction.
const std::string kInsertOperation = insert_into("operations", kOperationColumns);

// An upsert (not DELETE and INSERT) keeps the row's seq, and with it its place in the order. It
// keeps the row's owner too: only take_operation moves an operation to another replica, so a
// replica that lost one cannot take it back by writing progress.
const std::string kUpsertOperation =
    insert_into("operations", kOperationColumns,
                "ON CONFLICT (id) DO UPDATE SET instance_id = excluded.instance_id, "
                "binding_id = excluded.binding_id, kind = excluded.kind, state = excluded.state, "
                "description = excluded.description, async = excluded.async, "
                "plugin_operation = excluded.plugin_operation, request = excluded.request, "
                "attempts = excluded.attempts, created_at_ms = excluded.created_at_ms, "
                "updated_at_ms = excluded.updated_at_ms, deadline_ms = excluded.deadline_ms");

constexpr const char* kEndOperation =
    "UPDATE operations SET state = $2, description = $3, plugin_operation = $4, attempts = $5, "
    "updated_at_ms = $6, deadline_ms = $7 WHERE id = $1";

}  // namespace

BeginResult PgStore::after_claim(Transaction& tx, bool claimed, const ResourceKey& on,
                                 const OperationRecord* superseded, const OperationRecord& op) {
  if (!claimed) {
    // A statement of its own sees what committed since the claim's: a resource removed in
    // between is missing, one that exists is busy.
    return exists(tx, on) ? BeginResult::busy : BeginResult::missing;
  }
  if (superseded != nullptr) {
    upsert_operation(tx, *superseded, on);
  }
  insert_operation(tx, op, on);
  return BeginResult::started;
}

void PgStore::lock_instance(Transaction& tx, const std::string& instance_id, InstanceLock lock) {
  switch (lock) {
    case InstanceLock::none:
      return;
    case InstanceLock::shared:
      exec(tx, "SELECT 1 FROM instances WHERE id = $1 FOR SHARE", Params().text(instance_id));
      return;
    case InstanceLock::exclusive:
      exec(tx, "SELECT 1 FROM instances WHERE id = $1 FOR NO KEY UPDATE",
           Params().text(instance_id));
      return;
  }
}

bool PgStore::exists(Transaction& tx, const ResourceKey& key) {
  if (key.binding_id.empty()) {
    return !exec(tx, "SELECT 1 FROM instances WHERE id = $1", Params().text(key.instance_id))
                .empty();
  }
  return !exec(tx, "SELECT 1 FROM bindings WHERE instance_id = $1 AND id = $2",
               Params().text(key.instance_id).text(key.binding_id))
              .empty();
}

// Adds what every finish writes into the resource row after p's own parameters (plugin_state,
// status, the operation that must hold the resource, updated_at_ms), runs sql and ends op. True
// when sql changed the resource (op held it).
bool PgStore::finish(Transaction& tx, const std::string& sql, Params& p, const ResourceLifecycle& r,
                     const char* plugin_state_column, const OperationRecord& op,
                     const ResourceKey& on) {
  p.nullable(codec_.encode(r.plugin_state, plugin_state_column))
      .text(to_string(r.status))
      .text(op.id)
      .integer(r.updated_at_ms);
  const bool applied = exec(tx, sql, p).affected_rows() != 0;
  end_operation(tx, op, on);
  return applied;
}

void PgStore::insert_operation(Transaction& tx, const OperationRecord& op, const ResourceKey& on) {
  Params p;
  add_operation(p, codec_, op, on);
  exec(tx, kInsertOperation, p);
}

// Writes what the end of an operation changes in its row; the rest (ids, kind, request, owner)
// was written when it began. An operation that was never begun (no row) is written in full.
void PgStore::end_operation(Transaction& tx, const OperationRecord& op, const ResourceKey& on) {
  Params p;
  add_operation_end(p, op);
  if (exec(tx, kEndOperation, p).affected_rows() == 0) {
    upsert_operation(tx, op, on);
  }
}

void PgStore::upsert_operation(Transaction& tx, const OperationRecord& op, const ResourceKey& on) {
  Params p;
  add_operation(p, codec_, op, on);
  exec(tx, kUpsertOperation, p);
}

void PgStore::delete_operation_row(Transaction& tx, const std::string& op_id) {
  exec(tx, "DELETE FROM operations WHERE id = $1", Params().text(op_id));
}

void PgStore::update_operation(const OperationRecord& op) {
  pool_.transact("write operation", [&](Transaction& tx) {
    upsert_operation(tx, op, {op.instance_id, op.binding_id});
  });
}

std::optional<OperationRecord> PgStore::get_operation(const std::string& operation_id) {
  static const std::string sql = select_from(kOperationColumns, "FROM operations WHERE id = $1");
  return read_one(sql, "read operation", Params().text(operation_id), read_operation);
}

std::optional<OperationRecord> PgStore::latest_operation(const std::string& instance_id,
                                                         const std::string& binding_id) {
  // A resource that exists names its last operation, whatever the clock said when it began. For
  // one that was removed, the operation inserted last, found at the end of its range in
  // operations_latest: the one that removed it (or, for a binding its instance's removal took,
  // its last). seq, not created_at_ms, decides, because replicas' clocks differ: an operation
  // row is inserted only while its resource's row is locked by the claim (or the removal), after
  // every earlier claim on it committed, so seq follows the order in which they began.
  static const std::string sql =
      std::string("WITH live AS (") +
      "SELECT last_operation FROM instances WHERE $2 = '' AND id = $1 UNION ALL "
      "SELECT last_operation FROM bindings WHERE $2 <> '' AND instance_id = $1 AND id = $2) " +
      select_from(kOperationColumns,
                  "FROM operations WHERE id = (SELECT NULLIF(last_operation, '') FROM live) ") +
      "UNION ALL (" +
      select_from(kOperationColumns,
                  "FROM operations WHERE instance_id = $1 AND binding_id = $2 AND NOT EXISTS "
                  "(SELECT 1 FROM live WHERE last_operation <> '') "
                  "ORDER BY seq DESC LIMIT 1") +
      ")";
  return read_one(sql, "read latest operation", Params().text(instance_id).text(binding_id),
                  read_operation);
}

std::vector<OperationRecord> PgStore::list_unfinished_operations() {
  // The state literal (not a parameter) lets the planner use the partial index
  // operations_unfinished.
  static const std::string sql = select_from(
      kOperationColumns, "FROM operations WHERE state = 'in progress' ORDER BY created_at_ms, seq");
  return read_all(sql, "list unfinished operations", Params(), read_operation);
}

std::vector<OperationRecord> PgStore::list_operations() {
  static const std::string sql =
      select_from(kOperationColumns, "FROM operations ORDER BY created_at_ms, seq");
  return read_all(sql, "list operations", Params(), read_operation);
}

std::vector<OperationRecord> PgStore::list_recent_operations(std::size_t limit,
                                                             std::optional<OperationState> state) {
  // The state is compared only when one is asked for ($1 is true otherwise).
  static const std::string sql = select_from(
      kOperationColumns, "FROM operations WHERE $1 OR state = $2 ORDER BY seq DESC LIMIT $3");
  return read_all(sql, "list recent operations",
                  Params()
                      .boolean(!state.has_value())
                      .text(state ? to_string(*state) : "")
                      .integer(static_cast<int64_t>(limit)),
                  read_operation);
}

bool PgStore::take_operation(const std::string& op_id, const std::string& owner,
                             int64_t stale_before_ms) {
  // One statement decides: of two replicas taking one operation at once, the second waits for
  // the first's row and re-checks it: the owner is now the first, whose heartbeats keep it fresh.
  static const std::string sql =
      "UPDATE operations o SET owner = $2 WHERE o.id = $1 AND o.state = 'in progress' "
      "AND (o.owner = $2 OR o.owner = '' OR NOT EXISTS (SELECT 1 FROM replicas r "
      "WHERE r.id = o.owner AND r.heartbeat_at_ms >= $3))";
  return pool_.transact("take operation", [&](Transaction& tx) {
    return exec(tx, sql, Params().text(op_id).text(owner).integer(stale_before_ms))
               .affected_rows() != 0;
  });
}

}  // namespace osbd::state::pg

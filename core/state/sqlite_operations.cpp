// The SQLite store's operation rows, and the claims that start an operation on a resource: see
// SqliteStore.

#include <string>

#include "state/sqlite_store.hpp"

namespace osbd::state::sqlite {

namespace {

constexpr const char* kInsertOperation =
    "INSERT INTO operations (id, instance_id, binding_id, kind, state, description, async, "
    "plugin_operation, request, attempts, created_at_ms, updated_at_ms, deadline_ms, owner) "
    "VALUES (:id, :instance_id, :binding_id, :kind, :state, :description, :async, "
    ":plugin_operation, :request, :attempts, :created_at_ms, :updated_at_ms, :deadline_ms, "
    ":owner)";

// An upsert (not INSERT OR REPLACE) keeps the row's seq, and with it its place in the order. It
// keeps the owner too: only take_operation moves an operation to another replica.
// Built once: the statement cache finds it by its text.
const std::string kUpsertOperation = std::string(kInsertOperation) +
                                     " ON CONFLICT (id) DO UPDATE SET instance_id = "
                                     "excluded.instance_id, binding_id = excluded.binding_id, "
                                     "kind = excluded.kind, state = excluded.state, "
                                     "description = excluded.description, async = excluded.async, "
                                     "plugin_operation = excluded.plugin_operation, "
                                     "request = excluded.request, attempts = excluded.attempts, "
                                     "created_at_ms = excluded.created_at_ms, "
                                     "updated_at_ms = excluded.updated_at_ms, "
                                     "deadline_ms = excluded.deadline_ms";

}  // namespace

BeginResult SqliteStore::after_claim(bool claimed, const ResourceKey& on,
                                     const OperationRecord* superseded, const OperationRecord& op) {
  if (!claimed) {
    return exists(on) ? BeginResult::busy : BeginResult::missing;
  }
  if (superseded != nullptr) {
    upsert_operation(*superseded, on);
  }
  insert_operation(op, on);
  return BeginResult::started;
}

bool SqliteStore::exists(const ResourceKey& key) {
  const bool instance = key.binding_id.empty();
  Statement st(writer_,
               instance ? "SELECT 1 FROM instances WHERE id = :instance_id"
                        : "SELECT 1 FROM bindings WHERE instance_id = :instance_id AND id = :id",
               instance ? "read instance" : "read binding");
  st.bind(":instance_id", key.instance_id);
  if (!instance) {
    st.bind(":id", key.binding_id);
  }
  return st.step();
}

// Binds what every finish writes into the resource row (plugin_state, status, updated_at_ms and
// the operation that must hold the resource), runs upd and ends op.
bool SqliteStore::finish(Statement& upd, const ResourceLifecycle& r,
                         const char* plugin_state_column, const OperationRecord& op,
                         const ResourceKey& on) {
  upd.bind_nullable(":plugin_state", codec_.encode(r.plugin_state, plugin_state_column))
      .bind(":status", to_string(r.status))
      .bind(":updated_at_ms", r.updated_at_ms)
      .bind(":op", op.id)
      .run();
  const bool applied = writer_.changes() != 0;
  end_operation(op, on);
  return applied;
}

// A new operation id must be new: a clash is a broken id generator and fails the transaction.
void SqliteStore::insert_operation(const OperationRecord& op, const ResourceKey& on) {
  Statement st(writer_, kInsertOperation, "record operation");
  bind_operation(st, codec_, op, on);
  st.run();
}

// Writes what the end of an operation changes in its row; the rest (ids, kind, request) was
// written when it began. An operation that was never begun (no row) is written in full.
void SqliteStore::end_operation(const OperationRecord& op, const ResourceKey& on) {
  Statement upd(writer_,
                "UPDATE operations SET state = :state, description = :description, "
                "plugin_operation = :plugin_operation, attempts = :attempts, "
                "updated_at_ms = :updated_at_ms, deadline_ms = :deadline_ms WHERE id = :id",
                "end operation");
  bind_operation_end(upd, op);
  upd.run();
  if (writer_.changes() == 0) {
    upsert_operation(op, on);
  }
}

void SqliteStore::upsert_operation(const OperationRecord& op, const ResourceKey& on) {
  Statement st(writer_, kUpsertOperation.c_str(), "write operation");
  bind_operation(st, codec_, op, on);
  st.run();
}

void SqliteStore::mark_removed(const ResourceKey& key, const OperationRecord& op) {
  Statement mark(writer_,
                 "INSERT OR REPLACE INTO removed_resources (instance_id, binding_id, "
                 "last_operation, removed_at_ms) VALUES (:instance_id, :binding_id, :op, :at)",
                 "mark removed resource");
  mark.bind(":instance_id", key.instance_id)
      .bind(":binding_id", key.binding_id)
      .bind(":op", op.id)
      .bind(":at", op.updated_at_ms)
      .run();
}

void SqliteStore::delete_operation_row(const std::string& op_id) {
  Statement del(writer_, "DELETE FROM operations WHERE id = :id", "delete operation");
  del.bind(":id", op_id).run();
}

void SqliteStore::update_operation(const OperationRecord& op) {
  write([&] { upsert_operation(op, {op.instance_id, op.binding_id}); });
}

std::optional<OperationRecord> SqliteStore::get_operation(const std::string& operation_id) {
  return read_one(
      select_from(kOperationColumns, "FROM operations WHERE id = :id"), "read operation",
      [&](Statement& st) { st.bind(":id", operation_id); }, read_operation);
}

std::optional<OperationRecord> SqliteStore::latest_operation(const std::string& instance_id,
                                                             const std::string& binding_id) {
  // The live resource names its last operation; a removed one left that name behind. One lookup
  // by key each, so that no index over every operation by resource is needed.
  static const std::string sql = select_from(
      kOperationColumns,
      "FROM operations WHERE id = COALESCE("
      "(SELECT NULLIF(last_operation, '') FROM instances WHERE :binding_id = '' AND "
      "id = :instance_id), "
      "(SELECT NULLIF(last_operation, '') FROM bindings WHERE :binding_id <> '' AND "
      "instance_id = :instance_id AND id = :binding_id), "
      "(SELECT last_operation FROM removed_resources WHERE instance_id = :instance_id AND "
      "binding_id = :binding_id))");
  return read_one(
      sql, "read latest operation",
      [&](Statement& st) { st.bind(":instance_id", instance_id).bind(":binding_id", binding_id); },
      read_operation);
}

std::vector<OperationRecord> SqliteStore::list_unfinished_operations() {
  // The state literal (not a parameter) lets SQLite use the partial index operations_unfinished.
  return read_all(
      select_from(kOperationColumns,
                  "FROM operations WHERE state = 'in progress' ORDER BY created_at_ms, seq"),
      "list unfinished operations", [](Statement&) {}, read_operation);
}

}  // namespace osbd::state::sqlite

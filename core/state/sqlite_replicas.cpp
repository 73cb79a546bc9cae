// The SQLite store's replica rows, operation ownership, and copying records in and out: see
// SqliteStore.

#include <string>
#include <vector>

#include "state/sqlite_store.hpp"

namespace osbd::state::sqlite {

namespace {

constexpr const char* kImportInstance =
    "INSERT INTO instances (id, service_id, plan_id, plugin, organization_guid, space_guid, "
    "parameters, context, originating_identity, maintenance_info, dashboard_url, metadata, "
    "plugin_state, status, active_operation, last_operation, created_at_ms, updated_at_ms) "
    "VALUES (:id, :service_id, :plan_id, :plugin, :organization_guid, :space_guid, :parameters, "
    ":context, :originating_identity, :maintenance_info, :dashboard_url, :metadata, "
    ":plugin_state, :status, :active_operation, :last_operation, :created_at_ms, :updated_at_ms)";

constexpr const char* kImportBinding =
    "INSERT INTO bindings (instance_id, id, service_id, plan_id, app_guid, parameters, context, "
    "bind_resource, response, plugin_state, status, active_operation, last_operation, "
    "created_at_ms, updated_at_ms) VALUES (:instance_id, :id, :service_id, :plan_id, :app_guid, "
    ":parameters, :context, :bind_resource, :response, :plugin_state, :status, "
    ":active_operation, :last_operation, :created_at_ms, :updated_at_ms)";

// The last operation of every resource that no longer exists, as migration 2 finds them: what
// latest_operation answers for a removed resource.
constexpr const char* kMarkRemovedResources =
    "INSERT OR REPLACE INTO removed_resources (instance_id, binding_id, last_operation, "
    "removed_at_ms) "
    "SELECT o.instance_id, o.binding_id, o.id, o.updated_at_ms FROM operations o "
    "WHERE o.seq = (SELECT l.seq FROM operations l WHERE l.instance_id = o.instance_id AND "
    "l.binding_id = o.binding_id ORDER BY l.created_at_ms DESC, l.seq DESC LIMIT 1) "
    "AND NOT EXISTS (SELECT 1 FROM instances i WHERE o.binding_id = '' AND i.id = o.instance_id) "
    "AND NOT EXISTS (SELECT 1 FROM bindings b WHERE o.binding_id <> '' AND "
    "b.instance_id = o.instance_id AND b.id = o.binding_id)";

// A replica's heartbeat replaces its row; started_at_ms too, since a restarted replica reuses
// its id.
constexpr const char* kHeartbeat =
    "INSERT INTO replicas (id, host, version, listen, plugins, catalog_fingerprint, "
    "started_at_ms, heartbeat_at_ms) VALUES (:id, :host, :version, :listen, :plugins, "
    ":catalog_fingerprint, :started_at_ms, :heartbeat_at_ms) ON CONFLICT (id) DO UPDATE SET "
    "host = excluded.host, version = excluded.version, listen = excluded.listen, "
    "plugins = excluded.plugins, catalog_fingerprint = excluded.catalog_fingerprint, "
    "started_at_ms = excluded.started_at_ms, heartbeat_at_ms = excluded.heartbeat_at_ms";

// One conditional write decides: owner takes the operation only from nobody, from itself, or
// from a replica whose last heartbeat is older than :stale.
constexpr const char* kTakeOperation =
    "UPDATE operations SET owner = :owner WHERE id = :id AND state = 'in progress' AND "
    "(owner = :owner OR owner = '' OR NOT EXISTS (SELECT 1 FROM replicas r WHERE "
    "r.id = operations.owner AND r.heartbeat_at_ms >= :stale))";

}  // namespace

std::vector<OperationRecord> SqliteStore::list_operations() {
  return read_all(
      select_from(kOperationColumns, "FROM operations ORDER BY created_at_ms, seq"),
      "list operations", [](Statement&) {}, read_operation);
}

std::vector<OperationRecord> SqliteStore::list_recent_operations(
    std::size_t limit, std::optional<OperationState> state) {
  // The state is compared only when one is asked for (:any is 1 otherwise).
  static const std::string sql =
      select_from(kOperationColumns,
                  "FROM operations WHERE :any OR state = :state ORDER BY seq DESC LIMIT :limit");
  return read_all(
      sql, "list recent operations",
      [&](Statement& st) {
        st.bind_bool(":any", !state.has_value())
            .bind(":state", state ? to_string(*state) : "")
            .bind(":limit", static_cast<int64_t>(limit));
      },
      read_operation);
}

bool SqliteStore::empty() {
  return read([](Database& db) {
    Statement st(db,
                 "SELECT EXISTS (SELECT 1 FROM instances) OR EXISTS (SELECT 1 FROM bindings) OR "
                 "EXISTS (SELECT 1 FROM operations)",
                 "check whether the store is empty");
    return st.step() && st.integer(0) == 0;
  });
}

void SqliteStore::import_records(const std::vector<InstanceRecord>& instances,
                                 const std::vector<BindingRecord>& bindings,
                                 const std::vector<OperationRecord>& operations) {
  write([&] {
    for (const InstanceRecord& r : instances) {
      Statement ins(writer_, kImportInstance, "import instance");
      bind_instance(ins, codec_, r, r.status, r.active_operation);
      ins.bind(":last_operation", r.last_operation).run();
    }
    for (const BindingRecord& r : bindings) {
      Statement ins(writer_, kImportBinding, "import binding");
      bind_binding(ins, codec_, r, r.status, r.active_operation);
      ins.bind(":last_operation", r.last_operation).run();
    }
    for (const OperationRecord& op : operations) {
      insert_operation(op, {op.instance_id, op.binding_id});
    }
    writer_.exec(kMarkRemovedResources, "mark removed resources");
  });
}

void SqliteStore::heartbeat(const ReplicaRecord& replica) {
  write([&] {
    Statement st(writer_, kHeartbeat, "write replica heartbeat");
    bind_replica(st, codec_, replica);
    st.run();
  });
}

std::vector<ReplicaRecord> SqliteStore::list_replicas() {
  return read_all(
      select_from(kReplicaColumns, "FROM replicas ORDER BY id"), "list replicas", [](Statement&) {},
      read_replica);
}

void SqliteStore::remove_replica(const std::string& replica_id) {
  write([&] {
    Statement st(writer_, "DELETE FROM replicas WHERE id = :id", "remove replica");
    st.bind(":id", replica_id).run();
  });
}

bool SqliteStore::take_operation(const std::string& op_id, const std::string& owner,
                                 int64_t stale_before_ms) {
  return write([&] {
    Statement st(writer_, kTakeOperation, "take operation");
    st.bind(":owner", owner).bind(":id", op_id).bind(":stale", stale_before_ms).run();
    return writer_.changes() != 0;
  });
}

}  // namespace osbd::state::sqlite

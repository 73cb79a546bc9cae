// The SQLite store's instance methods: see SqliteStore.

#include <string>

#include "state/sqlite_store.hpp"

namespace osbd::state::sqlite {

namespace {

constexpr Claim kCreateInstance{
    "INSERT INTO instances (id, service_id, plan_id, plugin, organization_guid, "
    "space_guid, parameters, context, originating_identity, maintenance_info, "
    "dashboard_url, metadata, plugin_state, status, active_operation, "
    "last_operation, created_at_ms, updated_at_ms) VALUES (:id, :service_id, "
    ":plan_id, :plugin, :organization_guid, :space_guid, :parameters, :context, "
    ":originating_identity, :maintenance_info, :dashboard_url, :metadata, "
    ":plugin_state, :status, :active_operation, :last_operation, :created_at_ms, "
    ":updated_at_ms) ON CONFLICT (id) DO NOTHING",
    "create instance"};

// The instance claims of begin_instance_operation and supersede_instance_operation: see claim.
constexpr Claim kBeginInstanceOperation{
    "UPDATE instances SET status = :status, active_operation = :op, last_operation = :op, "
    "updated_at_ms = MAX(updated_at_ms, :at) WHERE id = :instance_id AND active_operation = '' "
    "AND (:check = 0 OR NOT EXISTS (SELECT 1 FROM bindings WHERE instance_id = :instance_id "
    "AND active_operation <> ''))",
    "begin instance operation"};

constexpr Claim kSupersedeInstanceOperation{
    "UPDATE instances SET status = :status, active_operation = :op, last_operation = :op, "
    "updated_at_ms = MAX(updated_at_ms, :at) WHERE id = :instance_id "
    "AND active_operation = :superseded",
    "supersede instance operation"};

const std::string kNoBinding;

}  // namespace

BeginResult SqliteStore::begin_create_instance(const InstanceRecord& instance,
                                               const OperationRecord& op) {
  return create(
      kCreateInstance, {instance.id, kNoBinding}, op,
      [&](Statement& st) { bind_instance(st, codec_, instance, ResourceStatus::creating, op.id); },
      [] { return BeginResult::exists; });
}

BeginResult SqliteStore::begin_instance_operation(const std::string& instance_id,
                                                  const OperationRecord& op,
                                                  ResourceStatus new_status, bool check_bindings) {
  return claim(kBeginInstanceOperation, {instance_id, kNoBinding}, nullptr, op, new_status,
               [&](Statement& st) {
                 st.bind(":instance_id", instance_id).bind_bool(":check", check_bindings);
               });
}

BeginResult SqliteStore::supersede_instance_operation(const std::string& instance_id,
                                                      const OperationRecord& superseded,
                                                      const OperationRecord& op,
                                                      ResourceStatus new_status) {
  return claim(kSupersedeInstanceOperation, {instance_id, kNoBinding}, &superseded, op, new_status,
               [&](Statement& st) {
                 st.bind(":instance_id", instance_id).bind(":superseded", superseded.id);
               });
}

void SqliteStore::finish_instance_operation(const InstanceRecord& instance,
                                            const OperationRecord& op) {
  write([&] {
    // Only the operation that holds the instance may end it: a late finish of an operation that
    // was already given up on must not clear the marker of the one running now.
    Statement upd(writer_,
                  "UPDATE instances SET plan_id = :plan_id, parameters = :parameters, "
                  "context = :context, maintenance_info = :maintenance_info, "
                  "dashboard_url = :dashboard_url, metadata = :metadata, "
                  "plugin_state = :plugin_state, status = :status, active_operation = '', "
                  "last_operation = :op, updated_at_ms = :updated_at_ms "
                  "WHERE id = :id AND active_operation = :op",
                  "finish instance operation");
    upd.bind(":id", instance.id)
        .bind(":plan_id", instance.plan_id)
        .bind_nullable(":parameters", codec_.encode(instance.parameters, "instances.parameters"))
        .bind_nullable(":context", codec_.encode(instance.context, "instances.context"))
        .bind_nullable(":maintenance_info",
                       codec_.encode(instance.maintenance_info, "instances.maintenance_info"))
        .bind(":dashboard_url", instance.dashboard_url)
        .bind_nullable(":metadata", codec_.encode(instance.metadata, "instances.metadata"));
    if (!finish(upd, instance, "instances.plugin_state", op, {instance.id, kNoBinding})) {
      return;
    }
    if (auto event = usage_event_of(instance, op)) {
      insert_usage_event(*event);
    }
  });
}

void SqliteStore::delete_instance(const std::string& instance_id, const OperationRecord& op) {
  write([&] {
    // The removed instance and its bindings leave a marker naming their last operation, so
    // that last_operation can still answer for them (see latest_operation).
    Statement mark_bindings(writer_,
                            "INSERT OR REPLACE INTO removed_resources (instance_id, binding_id, "
                            "last_operation, removed_at_ms) SELECT instance_id, id, "
                            "last_operation, :at FROM bindings WHERE instance_id = :id "
                            "AND last_operation <> ''",
                            "mark removed bindings");
    mark_bindings.bind(":id", instance_id).bind(":at", op.updated_at_ms).run();
    Statement del(writer_, "DELETE FROM instances WHERE id = :id", "delete instance");
    del.bind(":id", instance_id).run();
    if (writer_.changes() != 0) {
      insert_usage_event({instance_id, op.updated_at_ms, UsageEventKind::deleted, "", "", "", ""});
    }
    mark_removed({instance_id, kNoBinding}, op);
    end_operation(op, {instance_id, kNoBinding});
  });
}

void SqliteStore::discard_instance(const std::string& instance_id, const std::string& op_id) {
  write([&] {
    Statement del(writer_, "DELETE FROM instances WHERE id = :id AND active_operation = :op",
                  "discard instance");
    del.bind(":id", instance_id).bind(":op", op_id).run();
    delete_operation_row(op_id);
  });
}

std::optional<InstanceRecord> SqliteStore::get_instance(const std::string& instance_id) {
  return read_one(
      select_from(kInstanceColumns, "FROM instances WHERE id = :id"), "read instance",
      [&](Statement& st) { st.bind(":id", instance_id); }, read_instance);
}

std::vector<InstanceRecord> SqliteStore::list_instances() {
  return read_all(
      select_from(kInstanceColumns, "FROM instances ORDER BY created_at_ms, rowid"),
      "list instances", [](Statement&) {}, read_instance);
}

std::vector<Store::PlanInstances> SqliteStore::count_instances_by_plan() {
  return read([&](Database& db) {
    Statement st(db,
                 "SELECT service_id, plan_id, COUNT(*) FROM instances GROUP BY service_id, "
                 "plan_id ORDER BY service_id, plan_id",
                 "count instances by plan");
    std::vector<PlanInstances> out;
    while (st.step()) {
      out.push_back({st.text(0), st.text(1), static_cast<uint64_t>(st.integer(2))});
    }
    return out;
  });
}

}  // namespace osbd::state::sqlite

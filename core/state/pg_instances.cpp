// The PostgreSQL store's instance methods: see PgStore.

#include <string>

#include "state/pg_store.hpp"

namespace osbd::state::pg {

namespace {

// Two replicas creating one id: the second waits for the first's row and then inserts nothing.
const Claim kCreateInstance{
    insert_into("instances", kInstanceColumns, "ON CONFLICT (id) DO NOTHING"), "create instance"};

// The instance claims of begin_instance_operation and supersede_instance_operation: see claim.
// A second replica's UPDATE of the same row waits for the first's COMMIT and then re-checks the
// row's active_operation, so exactly one of them changes it.
const Claim kBeginInstanceOperation{
    "UPDATE instances SET status = $1, active_operation = $2, last_operation = $2, "
    "updated_at_ms = GREATEST(updated_at_ms, $3) WHERE id = $4 AND active_operation = '' "
    "AND (NOT $5::boolean OR NOT EXISTS (SELECT 1 FROM bindings WHERE instance_id = $4 "
    "AND active_operation <> ''))",
    "begin instance operation"};

const Claim kSupersedeInstanceOperation{
    "UPDATE instances SET status = $1, active_operation = $2, last_operation = $2, "
    "updated_at_ms = GREATEST(updated_at_ms, $3) WHERE id = $4 AND active_operation = $5",
    "supersede instance operation"};

const std::string kNoBinding;

}  // namespace

BeginResult PgStore::begin_create_instance(const InstanceRecord& instance,
                                           const OperationRecord& op) {
  return create(
      kCreateInstance, InstanceLock::none, {instance.id, kNoBinding}, op,
      [&](Params& p) { add_instance(p, codec_, instance, starting(op.id)); },
      [](Transaction&) { return BeginResult::exists; });
}

BeginResult PgStore::begin_instance_operation(const std::string& instance_id,
                                              const OperationRecord& op, ResourceStatus new_status,
                                              bool check_bindings) {
  // Only a start that checks the bindings reads the other table (see InstanceLock).
  const InstanceLock lock = check_bindings ? InstanceLock::exclusive : InstanceLock::none;
  return claim(kBeginInstanceOperation, lock, {instance_id, kNoBinding}, nullptr, op, new_status,
               [&](Params& p) { p.text(instance_id).boolean(check_bindings); });
}

BeginResult PgStore::supersede_instance_operation(const std::string& instance_id,
                                                  const OperationRecord& superseded,
                                                  const OperationRecord& op,
                                                  ResourceStatus new_status) {
  return claim(kSupersedeInstanceOperation, InstanceLock::none, {instance_id, kNoBinding},
               &superseded, op, new_status,
               [&](Params& p) { p.text(instance_id).text(superseded.id); });
}

void PgStore::finish_instance_operation(const InstanceRecord& instance, const OperationRecord& op) {
  // Only the operation that holds the instance may end it: a late finish of an operation that
  // was already given up on must not clear the marker of the one running now. The usage event of
  // a succeeded provision or update is written with the change, and only with it.
  static const std::string sql =
      "UPDATE instances SET plan_id = $2, parameters = $3, context = $4, maintenance_info = $5, "
      "dashboard_url = $6, metadata = $7, plugin_state = $8, status = $9, "
      "active_operation = '', last_operation = $10, updated_at_ms = $11 "
      "WHERE id = $1 AND active_operation = $10";
  pool_.transact("finish instance operation", [&](Transaction& tx) {
    Params p;
    p.text(instance.id)
        .text(instance.plan_id)
        .nullable(codec_.encode(instance.parameters, "instances.parameters"))
        .nullable(codec_.encode(instance.context, "instances.context"))
        .nullable(codec_.encode(instance.maintenance_info, "instances.maintenance_info"))
        .text(instance.dashboard_url)
        .nullable(codec_.encode(instance.metadata, "instances.metadata"));
    if (!finish(tx, sql, p, instance, "instances.plugin_state", op, {instance.id, kNoBinding})) {
      return;
    }
    if (auto event = usage_event_of(instance, op)) {
      insert_usage_event(tx, *event);
    }
  });
}

void PgStore::delete_instance(const std::string& instance_id, const OperationRecord& op) {
  // Its bindings go with it (ON DELETE CASCADE). Their operations and its own stay, so that
  // latest_operation still answers for them. Only the call that removed it records the deletion.
  pool_.transact("delete instance", [&](Transaction& tx) {
    if (exec(tx, "DELETE FROM instances WHERE id = $1", Params().text(instance_id))
            .affected_rows() != 0) {
      insert_usage_event(tx,
                         {instance_id, op.updated_at_ms, UsageEventKind::deleted, "", "", "", ""});
    }
    end_operation(tx, op, {instance_id, kNoBinding});
  });
}

void PgStore::discard_instance(const std::string& instance_id, const std::string& op_id) {
  pool_.transact("discard instance", [&](Transaction& tx) {
    exec(tx, "DELETE FROM instances WHERE id = $1 AND active_operation = $2",
         Params().text(instance_id).text(op_id));
    delete_operation_row(tx, op_id);
  });
}

std::optional<InstanceRecord> PgStore::get_instance(const std::string& instance_id) {
  static const std::string sql = select_from(kInstanceColumns, "FROM instances WHERE id = $1");
  return read_one(sql, "read instance", Params().text(instance_id), read_instance);
}

std::vector<InstanceRecord> PgStore::list_instances() {
  static const std::string sql =
      select_from(kInstanceColumns, "FROM instances ORDER BY created_at_ms, seq");
  return read_all(sql, "list instances", Params(), read_instance);
}

std::vector<Store::PlanInstances> PgStore::count_instances_by_plan() {
  return pool_.transact("count instances by plan", [&](Transaction& tx) {
    const pqxx::result rows =
        exec(tx,
             "SELECT service_id, plan_id, COUNT(*) FROM instances GROUP BY service_id, plan_id "
             "ORDER BY service_id, plan_id");
    std::vector<PlanInstances> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
      out.push_back({text_of(row[0]), text_of(row[1]), static_cast<uint64_t>(integer_of(row[2]))});
    }
    return out;
  });
}

}  // namespace osbd::state::pg

#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/result>
#include <pqxx/transaction>

#include "state/pg_pool.hpp"
#include "state/pg_rows.hpp"
#include "state/record_codec.hpp"
#include "state/secret_box.hpp"
#include "state/store.hpp"

namespace osbd::state::pg {

/// A conditional write that starts an operation on a resource (an INSERT that creates it, an
/// UPDATE that makes the operation its active one), and what it does, for error messages; see
/// PgStore::create and PgStore::claim.
struct Claim {
  std::string sql;
  const char* what;
};

/// The row lock a claim takes on the instance before its conditional write, or none.
///
/// A claim's conditional write decides alone, but in READ COMMITTED its subquery on the other
/// table (an instance start checking its bindings, a binding start checking its instance) reads
/// the snapshot the statement began with, also when it waited for a row lock. Two replicas could
/// then start a deprovision and a bind (or an unbind) of that instance at once, each checking the
/// other's table before the other committed. So both sides lock the instance row first: the
/// instance side exclusively, a binding side shared (binding starts on one instance do not wait
/// for each other). Whoever comes second waits for the first to commit, and its conditional
/// write, a statement begun after that, sees the first's rows.
enum class InstanceLock {
  none,       ///< the write does not read the other table: it alone decides
  shared,     ///< SELECT ... FOR SHARE: a binding start (they do not wait for each other)
  exclusive,  ///< SELECT ... FOR NO KEY UPDATE: an instance start that checks its bindings
};

/// The Store on PostgreSQL (see open_postgres_store), for several osbd replicas sharing one
/// database. Its methods are defined by area: the store as a whole and replicas in
/// pg_store.cpp, instances, bindings and operations in pg_instances.cpp, pg_bindings.cpp and
/// pg_operations.cpp, the usage history in pg_usage.cpp.
///
/// Every method is one READ COMMITTED transaction on a pooled connection and returns after its
/// COMMIT, which is synchronous (the session sets synchronous_commit on). What only one replica
/// may do (start an operation on a resource, take over an operation) is decided by one
/// conditional statement in the database, never by this process's memory.
class PgStore final : public Store {
 public:
  /// Connects (the first connection of the pool), migrates the schema and reseals binding
  /// responses with box's current key. Throws StoreError when any of it fails.
  PgStore(const PostgresOptions& options, SecretBox box);

  /// Runs write.run() in one transaction (each store call in it a savepoint of its own) and
  /// calls write.done() once it committed, or failed with nothing of it kept. On the caller's
  /// thread: a commit is synchronous, so there is nothing to gain from queueing. queue_write,
  /// flush_writes and wait_durable keep Store's defaults for the same reason.
  void write_async(AsyncWrite& write) noexcept override;
  int schema_version() override;
  void check() override;

  BeginResult begin_create_instance(const InstanceRecord& instance,
                                    const OperationRecord& op) override;
  BeginResult begin_instance_operation(const std::string& instance_id, const OperationRecord& op,
                                       ResourceStatus new_status, bool check_bindings) override;
  BeginResult supersede_instance_operation(const std::string& instance_id,
                                           const OperationRecord& superseded,
                                           const OperationRecord& op,
                                           ResourceStatus new_status) override;
  void finish_instance_operation(const InstanceRecord& instance,
                                 const OperationRecord& op) override;
  void delete_instance(const std::string& instance_id, const OperationRecord& op) override;
  void discard_instance(const std::string& instance_id, const std::string& op_id) override;
  std::optional<InstanceRecord> get_instance(const std::string& instance_id) override;
  std::vector<InstanceRecord> list_instances() override;
  std::vector<PlanInstances> count_instances_by_plan() override;

  BeginResult begin_create_binding(const BindingRecord& binding,
                                   const OperationRecord& op) override;
  BeginResult begin_binding_operation(const std::string& instance_id, const std::string& binding_id,
                                      const OperationRecord& op,
                                      ResourceStatus new_status) override;
  BeginResult supersede_binding_operation(const std::string& instance_id,
                                          const std::string& binding_id,
                                          const OperationRecord& superseded,
                                          const OperationRecord& op,
                                          ResourceStatus new_status) override;
  void finish_binding_operation(const BindingRecord& binding, const OperationRecord& op) override;
  void delete_binding(const std::string& instance_id, const std::string& binding_id,
                      const OperationRecord& op) override;
  void discard_binding(const std::string& instance_id, const std::string& binding_id,
                       const std::string& op_id) override;
  std::optional<BindingRecord> get_binding(const std::string& instance_id,
                                           const std::string& binding_id) override;
  std::vector<BindingRecord> list_bindings(const std::string& instance_id) override;

  void update_operation(const OperationRecord& op) override;
  std::optional<OperationRecord> get_operation(const std::string& operation_id) override;
  std::optional<OperationRecord> latest_operation(const std::string& instance_id,
                                                  const std::string& binding_id) override;
  std::vector<OperationRecord> list_unfinished_operations() override;
  std::vector<OperationRecord> list_operations() override;
  std::vector<OperationRecord> list_recent_operations(std::size_t limit,
                                                      std::optional<OperationState> state) override;

  bool empty() override;
  void import_records(const std::vector<InstanceRecord>& instances,
                      const std::vector<BindingRecord>& bindings,
                      const std::vector<OperationRecord>& operations) override;

  void heartbeat(const ReplicaRecord& replica) override;
  std::vector<ReplicaRecord> list_replicas() override;
  void remove_replica(const std::string& replica_id) override;
  bool take_operation(const std::string& op_id, const std::string& owner,
                      int64_t stale_before_ms) override;

  std::vector<UsageEvent> list_usage_events(int64_t before_ms) override;
  void append_usage_events(const std::vector<UsageEvent>& events) override;
  void record_usage_samples(const std::vector<UsageSample>& samples) override;
  void scan_usage_samples(int64_t from_ms, int64_t to_ms,
                          const std::function<void(const UsageSample&)>& visit) override;
  void compact_usage(const UsageRetention& retention, int64_t now_ms) override;

 private:
  // A binding's key, for resealing in key order.
  using BindingKey = std::pair<std::string, std::string>;

  // --- the store as a whole (pg_store.cpp) ---
  void reseal_bindings();
  bool reseal_batch(Transaction& tx, std::optional<BindingKey>& after);
  std::optional<std::string> resealed(const std::string& instance_id, const std::string& binding_id,
                                      const std::string& stored) const;

  // --- claiming a resource for an operation (pg_operations.cpp) ---
  template <typename AddKey>
  BeginResult claim(const Claim& update, InstanceLock lock, const ResourceKey& on,
                    const OperationRecord* superseded, const OperationRecord& op,
                    ResourceStatus new_status, AddKey&& add_key);
  template <typename AddRow, typename Refusal>
  BeginResult create(const Claim& insert, InstanceLock lock, const ResourceKey& on,
                     const OperationRecord& op, AddRow&& add_row, Refusal&& refusal);
  BeginResult after_claim(Transaction& tx, bool claimed, const ResourceKey& on,
                          const OperationRecord* superseded, const OperationRecord& op);
  static void lock_instance(Transaction& tx, const std::string& instance_id, InstanceLock lock);
  static bool exists(Transaction& tx, const ResourceKey& key);
  static BeginResult explain_create_binding_refusal(Transaction& tx, const std::string& instance_id,
                                                    const std::string& binding_id);

  // --- operation rows (pg_operations.cpp) ---
  bool finish(Transaction& tx, const std::string& sql, Params& p, const ResourceLifecycle& r,
              const char* plugin_state_column, const OperationRecord& op, const ResourceKey& on);
  void insert_operation(Transaction& tx, const OperationRecord& op, const ResourceKey& on);
  void end_operation(Transaction& tx, const OperationRecord& op, const ResourceKey& on);
  void upsert_operation(Transaction& tx, const OperationRecord& op, const ResourceKey& on);
  static void delete_operation_row(Transaction& tx, const std::string& op_id);

  // --- usage history (pg_usage.cpp) ---
  static void insert_usage_event(Transaction& tx, const UsageEvent& e);

  // The rows of sql (with params) as records, decoded by read_row, in one transaction; at most
  // one with read_one.
  template <typename Record>
  std::vector<Record> read_all(const std::string& sql, const char* what, const Params& params,
                               Record (*read_row)(const pqxx::row&, const RecordCodec&)) {
    return pool_.transact(what, [&](Transaction& tx) {
      const pqxx::result rows = exec(tx, sql, params);
      std::vector<Record> out;
      out.reserve(rows.size());
      for (const auto& row : rows) {
        out.push_back(read_row(row, codec_));
      }
      return out;
    });
  }

  template <typename Record>
  std::optional<Record> read_one(const std::string& sql, const char* what, const Params& params,
                                 Record (*read_row)(const pqxx::row&, const RecordCodec&)) {
    return pool_.transact(what, [&](Transaction& tx) -> std::optional<Record> {
      const pqxx::result rows = exec(tx, sql, params);
      if (rows.empty()) {
        return std::nullopt;
      }
      return read_row(rows[0], codec_);
    });
  }

  SecretBox box_;
  ConnectionPool pool_;
  RecordCodec codec_;  // refers to box_; names the store by pool_.label()
};

// Starts op on the resource `on`, in one transaction: after the instance lock (if any), update
// (parameters: $1 status, $2 op id, $3 its creation time, then what add_key adds) decides alone;
// when it changed a row, superseded (if any) is written as given and op is inserted. busy or
// missing when it changed nothing.
template <typename AddKey>
BeginResult PgStore::claim(const Claim& update, InstanceLock lock, const ResourceKey& on,
                           const OperationRecord* superseded, const OperationRecord& op,
                           ResourceStatus new_status, AddKey&& add_key) {
  return pool_.transact(update.what, [&](Transaction& tx) {
    lock_instance(tx, on.instance_id, lock);
    Params p;
    p.text(to_string(new_status)).text(op.id).integer(op.created_at_ms);
    add_key(p);
    const bool claimed = exec(tx, update.sql, p).affected_rows() != 0;
    return after_claim(tx, claimed, on, superseded, op);
  });
}

// Creates the resource `on` with op active on it, in one transaction: after the instance lock
// (if any), insert (its row added by add_row) decides alone; when it wrote nothing,
// refusal(tx) says why.
template <typename AddRow, typename Refusal>
BeginResult PgStore::create(const Claim& insert, InstanceLock lock, const ResourceKey& on,
                            const OperationRecord& op, AddRow&& add_row, Refusal&& refusal) {
  return pool_.transact(insert.what, [&](Transaction& tx) {
    lock_instance(tx, on.instance_id, lock);
    Params p;
    add_row(p);
    if (exec(tx, insert.sql, p).affected_rows() == 0) {
      return refusal(tx);
    }
    insert_operation(tx, op, on);
    return BeginResult::started;
  });
}

}  // namespace osbd::state::pg

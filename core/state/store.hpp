#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "state/records.hpp"
#include "state/usage.hpp"

namespace osbd::state {

/// Outcome of an attempt to start a mutating operation.
enum class BeginResult {
  started,  ///< the rows were written; the caller owns the operation
  exists,   ///< create: a resource with this id exists already (nothing written)
  busy,     ///< another mutating operation holds the resource (nothing written)
  missing,  ///< the resource (or, for a binding, its instance) does not exist
};

/// A write whose caller does not block on it: see Store::write_async.
class AsyncWrite {
 public:
  virtual ~AsyncWrite() = default;
  /// The write: calls of the store's write methods, which become one write together. Runs on a
  /// thread of the store's choosing.
  virtual void run() = 0;
  /// Called once, after what run() wrote is durable (error null) or failed with nothing of it
  /// kept (error holds what run() or the store threw). May destroy this object.
  virtual void done(std::exception_ptr error) noexcept = 0;
  /// True for a write that only records an intent: that a request is about to call a plugin.
  /// Its done() may come once it is committed, before it is durable: it then survives a crash of
  /// osbd (kill -9), and the next write that is reported durable makes it durable too. Only a
  /// power loss before that can lose it, and with it a request that was never answered.
  virtual bool intent_only() const { return false; }
};

/// The broker's durable records. Every method is one transaction and thread-safe; a method that
/// returned has made its change durable (it survives kill -9 and power loss). Errors of the storage
/// itself are thrown as StoreError: they are not expected on the request path.
class Store {
 public:
  virtual ~Store() = default;

  /// Runs write.run() and then write.done() without blocking the caller on the commit: the store
  /// may queue it and run it later, on another thread, in a transaction shared with other
  /// writes. write must stay alive until done() is called. This default runs both at once.
  virtual void write_async(AsyncWrite& write) noexcept {
    std::exception_ptr error;
    try {
      write.run();
    } catch (...) {
      error = std::current_exception();
    }
    write.done(std::move(error));
  }

  /// Queues write like write_async but does not start a transaction for it: it waits for a
  /// running batch to take it or for flush_writes(). A caller that queues the writes of several
  /// requests and then flushes once gets them committed together. This default runs it at once.
  virtual void queue_write(AsyncWrite& write) noexcept { write_async(write); }

  /// Commits the writes queue_write left waiting (on this thread, unless a batch is running and
  /// takes them).
  virtual void flush_writes() noexcept {}

  /// Returns once everything committed so far is durable. Reads answer from committed state,
  /// which may still be syncing; an answer that rests on a read waits here first, so that it
  /// reports nothing a power loss could take back. Throws StoreError if the sync failed.
  virtual void wait_durable() {}

  /// Schema version the store is at after migrations.
  virtual int schema_version() = 0;

  /// Inserts a new instance (status creating) together with its provision operation, marking the
  /// operation active on it. Returns exists if the id is taken.
  virtual BeginResult begin_create_instance(const InstanceRecord& instance,
                                            const OperationRecord& op) = 0;

  /// Starts a mutating operation (update, deprovision) on an idle instance: sets its status and
  /// active_operation and inserts op, atomically. busy if another operation is active on it or,
  /// when check_bindings, on any of its bindings; missing if the instance does not exist.
  virtual BeginResult begin_instance_operation(const std::string& instance_id,
                                               const OperationRecord& op, ResourceStatus new_status,
                                               bool check_bindings) = 0;

  /// Replaces the instance's active operation `superseded` by `op`, atomically: `superseded` is
  /// written as given (normally failed) and `op` becomes active with new_status. This is how a
  /// DELETE stops an in-flight create. busy if `superseded` is no longer the active operation.
  virtual BeginResult supersede_instance_operation(const std::string& instance_id,
                                                   const OperationRecord& superseded,
                                                   const OperationRecord& op,
                                                   ResourceStatus new_status) = 0;

  /// Ends the instance's active operation, atomically: writes what an operation can change in the
  /// instance row (plan_id, parameters, context, maintenance_info, dashboard_url, metadata,
  /// plugin_state, status, updated_at_ms; active_operation is cleared and last_operation set by
  /// the store), and in the operation row its state, description, plugin_operation, attempts,
  /// updated_at_ms and deadline_ms. What was fixed when they began (ids, service, plugin,
  /// organization and space, originating identity, creation time, the operation's kind and
  /// request) is kept. Only the operation that holds the instance changes it.
  virtual void finish_instance_operation(const InstanceRecord& instance,
                                         const OperationRecord& op) = 0;

  /// Ends a successful deprovision: deletes the instance and its bindings and writes the end of
  /// the operation (kept so that last_operation can still answer; written in full if it has no
  /// row yet), atomically.
  virtual void delete_instance(const std::string& instance_id, const OperationRecord& op) = 0;

  /// Undoes a create whose request was refused before anything existed at the backend: removes
  /// the instance (only while op_id is its active operation) and the operation row, atomically,
  /// so that the broker looks as if the request never came.
  virtual void discard_instance(const std::string& instance_id, const std::string& op_id) = 0;

  /// Inserts a new binding (status creating) with its bind operation. missing if the instance does
  /// not exist or is not ready; busy if the instance has an active operation; exists if the
  /// binding id is taken on that instance.
  virtual BeginResult begin_create_binding(const BindingRecord& binding,
                                           const OperationRecord& op) = 0;

  /// Starts a mutating operation (unbind) on an idle binding; see begin_instance_operation. Also
  /// busy if the owning instance has an active operation.
  virtual BeginResult begin_binding_operation(const std::string& instance_id,
                                              const std::string& binding_id,
                                              const OperationRecord& op,
                                              ResourceStatus new_status) = 0;

  /// Replaces the binding's active operation; see supersede_instance_operation.
  virtual BeginResult supersede_binding_operation(const std::string& instance_id,
                                                  const std::string& binding_id,
                                                  const OperationRecord& superseded,
                                                  const OperationRecord& op,
                                                  ResourceStatus new_status) = 0;

  /// Ends the binding's active operation, atomically: writes what an operation can change in the
  /// binding row (response, plugin_state, status, updated_at_ms; active_operation cleared,
  /// last_operation set) and in the operation row (as finish_instance_operation does). The rest
  /// was fixed when the binding was created.
  virtual void finish_binding_operation(const BindingRecord& binding,
                                        const OperationRecord& op) = 0;

  /// Ends a successful unbind: deletes the binding and writes the operation row, atomically.
  virtual void delete_binding(const std::string& instance_id, const std::string& binding_id,
                              const OperationRecord& op) = 0;

  /// Undoes a refused bind; see discard_instance.
  virtual void discard_binding(const std::string& instance_id, const std::string& binding_id,
                               const std::string& op_id) = 0;

  /// Rewrites an operation row (progress: plugin token, attempts, description).
  virtual void update_operation(const OperationRecord& op) = 0;

  /// The instance with this id, if any.
  virtual std::optional<InstanceRecord> get_instance(const std::string& instance_id) = 0;
  /// The binding with these ids, if any.
  virtual std::optional<BindingRecord> get_binding(const std::string& instance_id,
                                                   const std::string& binding_id) = 0;
  /// The operation with this id, if any.
  virtual std::optional<OperationRecord> get_operation(const std::string& operation_id) = 0;
  /// The last operation begun on an instance (binding_id "") or a binding, whatever the clock
  /// said when it began; for a resource that a deprovision or unbind removed (or, for a binding,
  /// the removal of its instance), the last one it had.
  virtual std::optional<OperationRecord> latest_operation(const std::string& instance_id,
                                                          const std::string& binding_id) = 0;
  /// Every binding of an instance, oldest first.
  virtual std::vector<BindingRecord> list_bindings(const std::string& instance_id) = 0;
  /// Every instance, oldest first.
  virtual std::vector<InstanceRecord> list_instances() = 0;
  /// Every operation still in progress, oldest first (for recovery after a restart).
  virtual std::vector<OperationRecord> list_unfinished_operations() = 0;

  /// How many instances each plan has (plans without instances are left out).
  struct PlanInstances {
    std::string service_id;
    std::string plan_id;
    uint64_t instances = 0;
  };
  /// Instances per plan, ordered by service_id and plan_id. This default counts list_instances().
  virtual std::vector<PlanInstances> count_instances_by_plan();

  /// The latest limit operations (in the order written), newest first; with state, only those
  /// in that state. Reads at most what it returns plus what it skips, never the whole table.
  virtual std::vector<OperationRecord> list_recent_operations(
      std::size_t limit, std::optional<OperationState> state) = 0;

  // --- copying a store (osbd --migrate-state) ---

  /// Every operation, oldest first.
  virtual std::vector<OperationRecord> list_operations() = 0;
  /// True when the store holds no instance, binding or operation.
  virtual bool empty() = 0;
  /// Writes records exactly as given (statuses, active and last operations, owners and times
  /// kept), in one transaction: for copying a whole store into an empty one. Bindings' instances
  /// must be among instances. Throws StoreError (and writes nothing) on any conflict.
  virtual void import_records(const std::vector<InstanceRecord>& instances,
                              const std::vector<BindingRecord>& bindings,
                              const std::vector<OperationRecord>& operations) = 0;

  // --- replicas: several osbd processes on one store ---

  /// Inserts or replaces the row of replica.id, heartbeat_at_ms included. While its heartbeat is
  /// fresh, the operations it owns are its own (see take_operation).
  virtual void heartbeat(const ReplicaRecord& replica) = 0;
  /// Every replica with a row, ordered by id.
  virtual std::vector<ReplicaRecord> list_replicas() = 0;
  /// Removes a replica's row (it stopped cleanly): its unfinished operations can be taken at once.
  virtual void remove_replica(const std::string& replica_id) = 0;
  /// Makes owner the owner of the unfinished operation op_id, in one conditional write, when it
  /// owns it already or when its owner is gone: "", no replica row, or a last heartbeat before
  /// stale_before_ms. True when owner owns it afterwards; false when a live replica does or the
  /// operation is finished or unknown.
  virtual bool take_operation(const std::string& op_id, const std::string& owner,
                              int64_t stale_before_ms) = 0;

  // --- usage history (the metering report and the console's charts) ---
  //
  // finish_instance_operation writes the UsageEvent of a succeeded provision or update
  // (usage_event_of) and delete_instance a deleted event, each in its own transaction, and only
  // when it changed the instance.

  /// Every usage event with at_ms < before_ms, oldest first (ties in the order written).
  virtual std::vector<UsageEvent> list_usage_events(int64_t before_ms) = 0;
  /// Writes events as given, in one transaction (copying a store, generated histories).
  virtual void append_usage_events(const std::vector<UsageEvent>& events) = 0;
  /// Writes samples in one transaction. A sample whose (instance, period, bucket) is stored
  /// already is left out: replicas sampling the same bucket write it once.
  virtual void record_usage_samples(const std::vector<UsageSample>& samples) = 0;
  /// Calls visit for every sample whose period overlaps [from_ms, to_ms), in bucket order,
  /// without holding them all in memory.
  virtual void scan_usage_samples(int64_t from_ms, int64_t to_ms,
                                  const std::function<void(const UsageSample&)>& visit) = 0;
  /// Rolls samples older than the retention of their resolution into the next one (raw into
  /// hours, hours into days: time-weighted means, maxima kept) and drops days older than
  /// retention.daily_ms together with the events of instances deleted before then. One
  /// transaction; run by one replica at a time in effect (it is idempotent).
  virtual void compact_usage(const UsageRetention& retention, int64_t now_ms) = 0;

  /// Throws StoreError, saying why, when the store cannot serve requests: for readiness checks.
  /// This default reads the schema version.
  virtual void check() { schema_version(); }
};

/// Thrown when the storage itself fails (disk full, corrupt file, newer schema than this build).
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Keys that seal binding responses (credentials) at rest; see SecretBox.
struct SealingOptions {
  /// Seals and opens; "" means data_dir/credentials.key. Created (0600, random) when missing.
  std::string key_file;
  /// Rotated-out keys: they still open, and the store reseals their records at start-up.
  std::vector<std::string> previous_key_files;
};

/// Where and how the PostgreSQL store connects (state.postgresql in the configuration).
struct PostgresOptions {
  std::string host = "127.0.0.1";        ///< server host name or address
  unsigned port = 5432;                  ///< server port
  std::string database = "osbd";         ///< database (must exist; osbd creates its tables)
  std::string user = "osbd";             ///< role osbd connects as
  std::string password;                  ///< read from state.postgresql.password_file; never logged
  std::string sslmode = "prefer";        ///< libpq sslmode
  std::string sslrootcert;               ///< CA file for verify-ca/verify-full, "" for none
  unsigned pool_size = 8;                ///< connections kept open
  unsigned statement_timeout_ms = 5000;  ///< server-side bound on every statement
  unsigned connect_timeout_seconds = 5;  ///< bound on opening one connection
};

/// Opens the PostgreSQL store: migrations applied (one transaction each, under an advisory lock,
/// so that replicas starting together apply each once), every commit synchronous, binding
/// responses sealed with sealing's keys (sealing.key_file must be set: every replica needs the
/// same key) and resealed with the current key under a database lock. A lost connection is
/// reopened by the next call. Throws StoreError (with no password in it) when the database
/// cannot be reached or its schema is newer than this build.
std::unique_ptr<Store> open_postgres_store(const PostgresOptions& options,
                                           const SealingOptions& sealing);

/// Opens (creating if needed) the SQLite store in data_dir/osbd.db: WAL synced after every group
/// commit (see GroupCommit's sync_log),
/// migrations applied in one transaction each, binding responses sealed with AES-256-GCM (and
/// resealed with the current key). Throws StoreError with the path on failure.
std::unique_ptr<Store> open_sqlite_store(const std::string& data_dir,
                                         const SealingOptions& sealing = {});

}  // namespace osbd::state

#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "state/group_commit.hpp"
#include "state/reader_pool.hpp"
#include "state/record_codec.hpp"
#include "state/secret_box.hpp"
#include "state/sqlite_db.hpp"
#include "state/sqlite_rows.hpp"
#include "state/store.hpp"

namespace osbd::state::sqlite {

/// A conditional write that starts an operation on a resource (an INSERT that creates it, an
/// UPDATE that makes the operation its active one), and what it does, for error messages; see
/// SqliteStore::create and SqliteStore::claim.
struct Claim {
  const char* sql;
  const char* what;
};

/// The Store on SQLite (see open_sqlite_store). Its methods are defined by area: the store as a
/// whole in sqlite_store.cpp, instances, bindings and operations in sqlite_instances.cpp,
/// sqlite_bindings.cpp and sqlite_operations.cpp, replicas and copying in sqlite_replicas.cpp.
///
/// Writes go through one write connection with group commit: concurrent methods share one
/// transaction and one fsync, each in a savepoint of its own, and each returns only after that
/// transaction committed. Reads go through a small pool of read-only connections, so they answer
/// from the last committed state without waiting for a batch's fsync; a method's write is visible
/// to every read that starts after the method returned.
class SqliteStore final : public Store {
 public:
  /// Opens the database file at path (prepared by prepare_files), migrates it and reseals binding
  /// responses with box's current key.
  SqliteStore(const std::string& path, SecretBox box);

  void write_async(AsyncWrite& write) noexcept override;
  void queue_write(AsyncWrite& write) noexcept override;
  void flush_writes() noexcept override;
  void wait_durable() override;
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
  // --- the store as a whole (sqlite_store.cpp) ---
  void reseal_bindings();
  void submit_async(AsyncWrite& write, bool lead) noexcept;

  // --- claiming a resource for an operation (sqlite_operations.cpp) ---
  template <typename BindKey>
  BeginResult claim(const Claim& update, const ResourceKey& on, const OperationRecord* superseded,
                    const OperationRecord& op, ResourceStatus new_status, BindKey&& bind_key);
  template <typename BindRow, typename Refusal>
  BeginResult create(const Claim& insert, const ResourceKey& on, const OperationRecord& op,
                     BindRow&& bind_row, Refusal&& refusal);
  BeginResult after_claim(bool claimed, const ResourceKey& on, const OperationRecord* superseded,
                          const OperationRecord& op);
  bool exists(const ResourceKey& key);
  BeginResult explain_create_binding_refusal(const std::string& instance_id,
                                             const std::string& binding_id);

  // --- operation rows (sqlite_operations.cpp) ---
  // Runs upd (the resource's conditional update) and ends op; true when upd changed the row.
  bool finish(Statement& upd, const ResourceLifecycle& r, const char* plugin_state_column,
              const OperationRecord& op, const ResourceKey& on);
  // --- usage history (sqlite_usage.cpp) ---
  void insert_usage_event(const UsageEvent& event);
  void insert_operation(const OperationRecord& op, const ResourceKey& on);
  void end_operation(const OperationRecord& op, const ResourceKey& on);
  void upsert_operation(const OperationRecord& op, const ResourceKey& on);
  void mark_removed(const ResourceKey& key, const OperationRecord& op);
  void delete_operation_row(const std::string& op_id);

  // Runs unit as one write of a group-committed batch on writer_; returns what unit returned once
  // the batch's COMMIT did. unit must not BEGIN or COMMIT: it runs inside the batch's transaction,
  // in a savepoint of its own.
  template <typename F>
  std::invoke_result_t<F&> write(F&& unit) {
    using Result = std::invoke_result_t<F&>;
    if constexpr (std::is_void_v<Result>) {
      commit_.run(unit);
    } else {
      Result result{};
      commit_.run([&] { result = unit(); });
      return result;
    }
  }

  // Runs reader on a read connection of its own for the duration. Every statement of the read
  // is finished before the connection goes back, so no snapshot outlives the call. What it read
  // may be committed but still syncing: see wait_durable.
  template <typename F>
  std::invoke_result_t<F&, Database&> read(F&& reader) {
    auto lease = readers_.acquire();
    return reader(*lease);
  }

  // The rows of sql (parameters bound by bind) as records, decoded by read_row; at most one with
  // read_one.
  template <typename Record, typename Bind>
  std::vector<Record> read_all(const std::string& sql, const char* what, Bind&& bind,
                               Record (*read_row)(const Statement&, const RecordCodec&)) {
    return read([&](Database& db) {
      Statement st(db, sql.c_str(), what);
      bind(st);
      std::vector<Record> out;
      while (st.step()) {
        out.push_back(read_row(st, codec_));
      }
      return out;
    });
  }

  template <typename Record, typename Bind>
  std::optional<Record> read_one(const std::string& sql, const char* what, Bind&& bind,
                                 Record (*read_row)(const Statement&, const RecordCodec&)) {
    return read([&](Database& db) -> std::optional<Record> {
      Statement st(db, sql.c_str(), what);
      bind(st);
      if (!st.step()) {
        return std::nullopt;
      }
      return read_row(st, codec_);
    });
  }

  std::string path_;
  struct stat opened_ {};  // the database file as opened, for check()
  SecretBox box_;
  RecordCodec codec_;
  // Used only by the batch leader of the moment (inside write units) and, before any method can
  // run, by the constructor. Declared first so that it closes last, after the readers.
  Database writer_;
  GroupCommit commit_;
  ReaderPool readers_;
};

// Starts op on the resource `on`, in one write: update binds :status, :op and :at (bind_key
// binds the resource's key) and decides alone; when it changed a row, superseded (if any) is
// written as given and op is inserted. busy or missing when it changed nothing.
template <typename BindKey>
BeginResult SqliteStore::claim(const Claim& update, const ResourceKey& on,
                               const OperationRecord* superseded, const OperationRecord& op,
                               ResourceStatus new_status, BindKey&& bind_key) {
  return write([&] {
    Statement upd(writer_, update.sql, update.what);
    upd.bind(":status", to_string(new_status)).bind(":op", op.id).bind(":at", op.created_at_ms);
    bind_key(upd);
    upd.run();
    return after_claim(writer_.changes() != 0, on, superseded, op);
  });
}

// Creates the resource `on` with op active on it, in one write: insert (its row bound by
// bind_row) decides alone; when it wrote nothing, refusal() says why.
template <typename BindRow, typename Refusal>
BeginResult SqliteStore::create(const Claim& insert, const ResourceKey& on,
                                const OperationRecord& op, BindRow&& bind_row, Refusal&& refusal) {
  return write([&] {
    Statement ins(writer_, insert.sql, insert.what);
    bind_row(ins);
    ins.run();
    if (writer_.changes() == 0) {
      return refusal();
    }
    insert_operation(op, on);
    return BeginResult::started;
  });
}

}  // namespace osbd::state::sqlite

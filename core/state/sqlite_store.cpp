#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "state/group_commit.hpp"
#include "state/migrations.hpp"
#include "state/reader_pool.hpp"
#include "state/secret_box.hpp"
#include "state/sqlite_db.hpp"
#include "state/store.hpp"
#include "util/json_parse.hpp"

namespace osbd::state {

// Records written before requests were held to util::kMaxJsonDepth may nest deeper; they still
// read, within a bound that keeps every recursive walk of them far from the stack's end.
constexpr std::size_t kStoredJsonDepth = 512;

namespace {

using nlohmann::json;
using sqlite::Database;
using sqlite::Statement;

// Column lists shared by every SELECT of a record; the readers below take columns in this order.
constexpr const char* kInstanceColumns =
    "id, service_id, plan_id, plugin, organization_guid, space_guid, parameters, context, "
    "originating_identity, maintenance_info, dashboard_url, metadata, plugin_state, status, "
    "active_operation, last_operation, created_at_ms, updated_at_ms";

constexpr const char* kBindingColumns =
    "instance_id, id, service_id, plan_id, app_guid, parameters, context, bind_resource, "
    "response, plugin_state, status, active_operation, last_operation, created_at_ms, "
    "updated_at_ms";

constexpr const char* kOperationColumns =
    "id, instance_id, binding_id, kind, state, description, async, plugin_operation, request, "
    "attempts, created_at_ms, updated_at_ms, deadline_ms";

std::string select_from(const char* columns, const char* rest) {
  return std::string("SELECT ") + columns + " " + rest;
}

std::string errno_text(int err) {
  return std::strerror(err);
}

// Creates data_dir (owner-only) if missing and the database file with mode 0600, before SQLite
// touches it: SQLite gives its -wal and -shm files the mode of the database file, and bindings
// hold credentials.
std::string prepare_files(const std::string& data_dir) {
  namespace fs = std::filesystem;
  if (data_dir.empty()) {
    throw StoreError("osbd state store: data directory is empty");
  }
  const fs::path dir(data_dir);
  std::error_code ec;
  const auto st = fs::status(dir, ec);
  if (!fs::exists(st)) {
    if (dir.has_parent_path()) {
      fs::create_directories(dir.parent_path(), ec);
      if (ec) {
        throw StoreError("osbd state store " + data_dir +
                         ": cannot create data directory: " + ec.message());
      }
    }
    if (::mkdir(dir.c_str(), 0700) == 0) {
      // mkdir's mode is filtered through the umask; the directory must be exactly owner-only.
      ::chmod(dir.c_str(), 0700);
    } else if (errno != EEXIST) {
      throw StoreError("osbd state store " + data_dir +
                       ": cannot create data directory: " + errno_text(errno));
    }
  } else if (!fs::is_directory(st)) {
    throw StoreError("osbd state store " + data_dir + ": data directory is not a directory");
  }

  const std::string path = (dir / "osbd.db").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw StoreError("osbd state store " + path +
                     ": cannot open database file: " + errno_text(errno));
  }
  struct stat sb {};
  const bool too_open = ::fstat(fd, &sb) == 0 && (sb.st_mode & 0077) != 0;
  const int chmod_rc = too_open ? ::fchmod(fd, 0600) : 0;
  const int chmod_errno = errno;
  ::close(fd);
  if (chmod_rc != 0) {
    throw StoreError("osbd state store " + path +
                     ": cannot restrict database file to its owner: " + errno_text(chmod_errno));
  }
  return path;
}

void configure(Database& db) {
  // busy_timeout first: switching to WAL needs a lock another process may hold.
  db.exec("PRAGMA busy_timeout = 5000", "set busy_timeout");
  {
    Statement st(db, "PRAGMA journal_mode = WAL", "enable WAL");
    if (!st.step() || st.text(0) != "wal") {
      db.fail("cannot enable WAL journal mode");
    }
  }
  db.exec("PRAGMA synchronous = FULL", "set synchronous");
  // Checkpoint after 8000 WAL pages (32 MiB) rather than SQLite's 1000: a page that many batches
  // rewrite (an index's last leaf, a table's last page) is copied into the database once per
  // checkpoint, so fewer, larger checkpoints copy far fewer pages per write.
  db.exec("PRAGMA wal_autocheckpoint = 8000", "set checkpoint interval");
  db.exec("PRAGMA foreign_keys = ON", "enable foreign keys");
  Statement st(db, "PRAGMA foreign_keys", "check foreign keys");
  if (!st.step() || st.integer(0) != 1) {
    db.fail("this SQLite build cannot enforce foreign keys");
  }
}

// Writes go through one write connection with group commit: concurrent methods share one
// transaction and one fsync, each in a savepoint of its own, and each returns only after that
// transaction committed. Reads go through a small pool of read-only connections, so they answer
// from the last committed state without waiting for a batch's fsync; a method's write is visible
// to every read that starts after the method returned.
class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, SecretBox box)
      : path_(path),
        box_(std::move(box)),
        writer_(path),
        commit_(writer_, sqlite::GroupCommit::kDefaultMaxBatch, /*sync_log=*/true),
        readers_(path) {
    configure(writer_);
    sqlite::migrate(writer_);
    reseal_bindings();
    // From here on every write goes through commit_, which syncs the WAL after each COMMIT
    // itself, so that intents (AsyncWrite::intent_only) can go on while it syncs. Checkpoints
    // still sync the WAL before and the database after copying, as with FULL.
    writer_.exec("PRAGMA synchronous = NORMAL", "set synchronous");
    // One read connection now, so that a file the readers cannot use fails the open.
    readers_.acquire();
    if (::stat(path_.c_str(), &opened_) != 0) {
      throw StoreError("osbd state store " + path_ + ": " + errno_text(errno));
    }
  }

  void write_async(AsyncWrite& write) noexcept override { submit_async(write, true); }

  void queue_write(AsyncWrite& write) noexcept override { submit_async(write, false); }

  void flush_writes() noexcept override { commit_.lead_queued(); }

  void wait_durable() override { commit_.wait_synced(commit_.committed()); }

  int schema_version() override {
    return read([](Database& db) { return sqlite::current_schema_version(db); });
  }

  BeginResult begin_create_instance(const InstanceRecord& instance,
                                    const OperationRecord& op) override {
    return write([&] {
      Statement ins(writer_,
                    "INSERT INTO instances (id, service_id, plan_id, plugin, organization_guid, "
                    "space_guid, parameters, context, originating_identity, maintenance_info, "
                    "dashboard_url, metadata, plugin_state, status, active_operation, "
                    "last_operation, created_at_ms, updated_at_ms) VALUES (:id, :service_id, "
                    ":plan_id, :plugin, :organization_guid, :space_guid, :parameters, :context, "
                    ":originating_identity, :maintenance_info, :dashboard_url, :metadata, "
                    ":plugin_state, :status, :active_operation, :last_operation, :created_at_ms, "
                    ":updated_at_ms) ON CONFLICT (id) DO NOTHING",
                    "create instance");
      bind_instance(ins, instance, ResourceStatus::creating, op.id);
      ins.run();
      if (writer_.changes() == 0) {
        return BeginResult::exists;
      }
      insert_operation(op, instance.id, "");
      return BeginResult::started;
    });
  }

  BeginResult begin_instance_operation(const std::string& instance_id, const OperationRecord& op,
                                       ResourceStatus new_status, bool check_bindings) override {
    return write([&] {
      // The decision is this one conditional write; the reads below only explain a refusal.
      Statement upd(writer_,
                    "UPDATE instances SET status = :status, active_operation = :op, "
                    "last_operation = :op, updated_at_ms = MAX(updated_at_ms, :at) "
                    "WHERE id = :id AND active_operation = '' AND (:check = 0 OR NOT EXISTS "
                    "(SELECT 1 FROM bindings WHERE instance_id = :id AND active_operation <> ''))",
                    "begin instance operation");
      upd.bind(":status", to_string(new_status))
          .bind(":op", op.id)
          .bind(":at", op.created_at_ms)
          .bind(":id", instance_id)
          .bind_bool(":check", check_bindings)
          .run();
      if (writer_.changes() == 0) {
        return instance_exists(instance_id) ? BeginResult::busy : BeginResult::missing;
      }
      insert_operation(op, instance_id, "");
      return BeginResult::started;
    });
  }

  BeginResult supersede_instance_operation(const std::string& instance_id,
                                           const OperationRecord& superseded,
                                           const OperationRecord& op,
                                           ResourceStatus new_status) override {
    return write([&] {
      Statement upd(writer_,
                    "UPDATE instances SET status = :status, active_operation = :op, "
                    "last_operation = :op, updated_at_ms = MAX(updated_at_ms, :at) "
                    "WHERE id = :id AND active_operation = :superseded",
                    "supersede instance operation");
      upd.bind(":status", to_string(new_status))
          .bind(":op", op.id)
          .bind(":at", op.created_at_ms)
          .bind(":id", instance_id)
          .bind(":superseded", superseded.id)
          .run();
      if (writer_.changes() == 0) {
        return instance_exists(instance_id) ? BeginResult::busy : BeginResult::missing;
      }
      upsert_operation(superseded, instance_id, "");
      insert_operation(op, instance_id, "");
      return BeginResult::started;
    });
  }

  void finish_instance_operation(const InstanceRecord& instance,
                                 const OperationRecord& op) override {
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
          .bind_nullable(":parameters", encode(instance.parameters, "instances.parameters"))
          .bind_nullable(":context", encode(instance.context, "instances.context"))
          .bind_nullable(":maintenance_info",
                         encode(instance.maintenance_info, "instances.maintenance_info"))
          .bind(":dashboard_url", instance.dashboard_url)
          .bind_nullable(":metadata", encode(instance.metadata, "instances.metadata"))
          .bind_nullable(":plugin_state", encode(instance.plugin_state, "instances.plugin_state"))
          .bind(":status", to_string(instance.status))
          .bind(":updated_at_ms", instance.updated_at_ms)
          .bind(":op", op.id)
          .run();
      end_operation(op, instance.id, "");
    });
  }

  void delete_instance(const std::string& instance_id, const OperationRecord& op) override {
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
      mark_removed(instance_id, "", op);
      end_operation(op, instance_id, "");
    });
  }

  BeginResult begin_create_binding(const BindingRecord& binding,
                                   const OperationRecord& op) override {
    return write([&] {
      // One conditional insert decides: it writes only when the instance is ready and idle and the
      // binding id is free.
      Statement ins(writer_,
                    "INSERT INTO bindings (instance_id, id, service_id, plan_id, app_guid, "
                    "parameters, context, bind_resource, response, plugin_state, status, "
                    "active_operation, last_operation, created_at_ms, updated_at_ms) "
                    "SELECT :instance_id, :id, :service_id, :plan_id, :app_guid, :parameters, "
                    ":context, :bind_resource, :response, :plugin_state, :status, "
                    ":active_operation, :last_operation, :created_at_ms, :updated_at_ms "
                    "WHERE EXISTS (SELECT 1 FROM instances WHERE id = :instance_id AND "
                    "status = 'ready' AND active_operation = '') "
                    "ON CONFLICT (instance_id, id) DO NOTHING",
                    "create binding");
      bind_binding(ins, binding, ResourceStatus::creating, op.id);
      ins.run();
      if (writer_.changes() == 0) {
        return explain_create_binding_refusal(binding.instance_id, binding.id);
      }
      insert_operation(op, binding.instance_id, binding.id);
      return BeginResult::started;
    });
  }

  BeginResult begin_binding_operation(const std::string& instance_id, const std::string& binding_id,
                                      const OperationRecord& op,
                                      ResourceStatus new_status) override {
    return write([&] {
      Statement upd(writer_,
                    "UPDATE bindings SET status = :status, active_operation = :op, "
                    "last_operation = :op, updated_at_ms = MAX(updated_at_ms, :at) "
                    "WHERE instance_id = :instance_id AND id = :id AND active_operation = '' "
                    "AND NOT EXISTS (SELECT 1 FROM instances WHERE id = :instance_id AND "
                    "active_operation <> '')",
                    "begin binding operation");
      upd.bind(":status", to_string(new_status))
          .bind(":op", op.id)
          .bind(":at", op.created_at_ms)
          .bind(":instance_id", instance_id)
          .bind(":id", binding_id)
          .run();
      if (writer_.changes() == 0) {
        return binding_exists(instance_id, binding_id) ? BeginResult::busy : BeginResult::missing;
      }
      insert_operation(op, instance_id, binding_id);
      return BeginResult::started;
    });
  }

  BeginResult supersede_binding_operation(const std::string& instance_id,
                                          const std::string& binding_id,
                                          const OperationRecord& superseded,
                                          const OperationRecord& op,
                                          ResourceStatus new_status) override {
    return write([&] {
      Statement upd(
          writer_,
          "UPDATE bindings SET status = :status, active_operation = :op, "
          "last_operation = :op, updated_at_ms = MAX(updated_at_ms, :at) "
          "WHERE instance_id = :instance_id AND id = :id AND active_operation = :superseded",
          "supersede binding operation");
      upd.bind(":status", to_string(new_status))
          .bind(":op", op.id)
          .bind(":at", op.created_at_ms)
          .bind(":instance_id", instance_id)
          .bind(":id", binding_id)
          .bind(":superseded", superseded.id)
          .run();
      if (writer_.changes() == 0) {
        return binding_exists(instance_id, binding_id) ? BeginResult::busy : BeginResult::missing;
      }
      upsert_operation(superseded, instance_id, binding_id);
      insert_operation(op, instance_id, binding_id);
      return BeginResult::started;
    });
  }

  void finish_binding_operation(const BindingRecord& binding, const OperationRecord& op) override {
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
          .bind_nullable(":response", encode_sealed(binding.response, "bindings.response"))
          .bind_nullable(":plugin_state", encode(binding.plugin_state, "bindings.plugin_state"))
          .bind(":status", to_string(binding.status))
          .bind(":updated_at_ms", binding.updated_at_ms)
          .bind(":op", op.id)
          .run();
      end_operation(op, binding.instance_id, binding.id);
    });
  }

  void delete_binding(const std::string& instance_id, const std::string& binding_id,
                      const OperationRecord& op) override {
    write([&] {
      Statement del(writer_, "DELETE FROM bindings WHERE instance_id = :instance_id AND id = :id",
                    "delete binding");
      del.bind(":instance_id", instance_id).bind(":id", binding_id).run();
      mark_removed(instance_id, binding_id, op);
      end_operation(op, instance_id, binding_id);
    });
  }

  void discard_instance(const std::string& instance_id, const std::string& op_id) override {
    write([&] {
      Statement del(writer_, "DELETE FROM instances WHERE id = :id AND active_operation = :op",
                    "discard instance");
      del.bind(":id", instance_id).bind(":op", op_id).run();
      delete_operation_row(op_id);
    });
  }

  void discard_binding(const std::string& instance_id, const std::string& binding_id,
                       const std::string& op_id) override {
    write([&] {
      Statement del(writer_,
                    "DELETE FROM bindings WHERE instance_id = :instance_id AND id = :id "
                    "AND active_operation = :op",
                    "discard binding");
      del.bind(":instance_id", instance_id).bind(":id", binding_id).bind(":op", op_id).run();
      delete_operation_row(op_id);
    });
  }

  void update_operation(const OperationRecord& op) override {
    write([&] { upsert_operation(op, op.instance_id, op.binding_id); });
  }

  std::optional<InstanceRecord> get_instance(const std::string& instance_id) override {
    return read([&](Database& db) -> std::optional<InstanceRecord> {
      const auto sql = select_from(kInstanceColumns, "FROM instances WHERE id = :id");
      Statement st(db, sql.c_str(), "read instance");
      st.bind(":id", instance_id);
      if (!st.step()) {
        return std::nullopt;
      }
      return read_instance(st);
    });
  }

  std::optional<BindingRecord> get_binding(const std::string& instance_id,
                                           const std::string& binding_id) override {
    return read([&](Database& db) -> std::optional<BindingRecord> {
      const auto sql = select_from(kBindingColumns,
                                   "FROM bindings WHERE instance_id = :instance_id AND id = :id");
      Statement st(db, sql.c_str(), "read binding");
      st.bind(":instance_id", instance_id).bind(":id", binding_id);
      if (!st.step()) {
        return std::nullopt;
      }
      return read_binding(st);
    });
  }

  std::optional<OperationRecord> get_operation(const std::string& operation_id) override {
    return read([&](Database& db) -> std::optional<OperationRecord> {
      const auto sql = select_from(kOperationColumns, "FROM operations WHERE id = :id");
      Statement st(db, sql.c_str(), "read operation");
      st.bind(":id", operation_id);
      if (!st.step()) {
        return std::nullopt;
      }
      return read_operation(st);
    });
  }

  std::optional<OperationRecord> latest_operation(const std::string& instance_id,
                                                  const std::string& binding_id) override {
    return read([&](Database& db) -> std::optional<OperationRecord> {
      // The live resource names its last operation; a removed one left that name behind. One
      // lookup by key each, so that no index over every operation by resource is needed.
      const auto sql = select_from(
          kOperationColumns,
          "FROM operations WHERE id = COALESCE("
          "(SELECT NULLIF(last_operation, '') FROM instances WHERE :binding_id = '' AND "
          "id = :instance_id), "
          "(SELECT NULLIF(last_operation, '') FROM bindings WHERE :binding_id <> '' AND "
          "instance_id = :instance_id AND id = :binding_id), "
          "(SELECT last_operation FROM removed_resources WHERE instance_id = :instance_id AND "
          "binding_id = :binding_id))");
      Statement st(db, sql.c_str(), "read latest operation");
      st.bind(":instance_id", instance_id).bind(":binding_id", binding_id);
      if (!st.step()) {
        return std::nullopt;
      }
      return read_operation(st);
    });
  }

  std::vector<BindingRecord> list_bindings(const std::string& instance_id) override {
    return read([&](Database& db) -> std::vector<BindingRecord> {
      const auto sql = select_from(
          kBindingColumns,
          "FROM bindings WHERE instance_id = :instance_id ORDER BY created_at_ms, rowid");
      Statement st(db, sql.c_str(), "list bindings");
      st.bind(":instance_id", instance_id);
      std::vector<BindingRecord> out;
      while (st.step()) {
        out.push_back(read_binding(st));
      }
      return out;
    });
  }

  std::vector<InstanceRecord> list_instances() override {
    return read([&](Database& db) -> std::vector<InstanceRecord> {
      const auto sql =
          select_from(kInstanceColumns, "FROM instances ORDER BY created_at_ms, rowid");
      Statement st(db, sql.c_str(), "list instances");
      std::vector<InstanceRecord> out;
      while (st.step()) {
        out.push_back(read_instance(st));
      }
      return out;
    });
  }

  std::vector<PlanInstances> count_instances_by_plan() override {
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

  void check() override {
    // The file osbd opened must still be the one at its path: a volume unmounted or a data
    // directory moved away leaves the open connections working on a file nobody will see again.
    struct stat now {};
    if (::stat(path_.c_str(), &now) != 0) {
      throw StoreError("osbd state store " + path_ + ": " + errno_text(errno));
    }
    if (now.st_dev != opened_.st_dev || now.st_ino != opened_.st_ino) {
      throw StoreError("osbd state store " + path_ +
                       ": the file was replaced since osbd opened it");
    }
    if (const std::string failure = commit_.sync_failure(); !failure.empty()) {
      throw StoreError(failure);
    }
    check_free_space();
    if (!commit_.commit_failure().empty()) {
      // The last transaction failed (a full disk, an I/O error): ready again only once a write
      // commits. The probe rewrites a header field of the file, which needs a new log frame.
      write([&] { writer_.exec("PRAGMA user_version = 0", "probe writes for readiness"); });
    }
    read([](Database& db) { return sqlite::current_schema_version(db); });
  }

  // Below this much free space in the data directory, writes are about to fail: not ready.
  static constexpr uint64_t kMinFreeBytes = 1 << 20;

  void check_free_space() const {
    struct statvfs fs {};
    if (::statvfs(path_.c_str(), &fs) != 0) {
      throw StoreError("osbd state store " + path_ + ": " + errno_text(errno));
    }
    const uint64_t free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    if (free_bytes < kMinFreeBytes) {
      throw StoreError("osbd state store " + path_ + ": the file system has " +
                       std::to_string(free_bytes) + " bytes free (less than 1 MiB)");
    }
  }

  std::vector<OperationRecord> list_unfinished_operations() override {
    return read([&](Database& db) -> std::vector<OperationRecord> {
      // The state literal (not a parameter) lets SQLite use the partial index
      // operations_unfinished.
      const auto sql = select_from(kOperationColumns,
                                   "FROM operations WHERE state = 'in progress' "
                                   "ORDER BY created_at_ms, seq");
      Statement st(db, sql.c_str(), "list unfinished operations");
      std::vector<OperationRecord> out;
      while (st.step()) {
        out.push_back(read_operation(st));
      }
      return out;
    });
  }

 private:
  // --- encoding ------------------------------------------------------------------------------

  // JSON null is stored as SQL NULL; everything else as its compact text.
  std::optional<std::string> encode(const json& value, const char* column) const {
    if (value.is_null()) {
      return std::nullopt;
    }
    try {
      return value.dump();
    } catch (const json::exception&) {
      // The exception text may quote the offending bytes, which can be credentials.
      writer_.fail(std::string("cannot store ") + column +
                   ": not encodable as JSON (invalid UTF-8)");
    }
  }

  // Binding responses hold credentials: sealed with the current key before they are written.
  std::optional<std::string> encode_sealed(const json& value, const char* column) const {
    auto text = encode(value, column);
    if (text) {
      text = box_.seal(*text);
    }
    return text;
  }

  json decode_sealed(const Statement& st, int i, const char* column) const {
    const auto text = st.optional_text(i);
    if (!text || !SecretBox::is_sealed(*text)) {
      return decode(st, i, column);  // written before sealing existed; resealed at start-up
    }
    std::string plain;
    try {
      plain = box_.open(*text);
    } catch (const std::exception& e) {
      st.database().fail(std::string("column ") + column + ": " + e.what());
    }
    auto value = util::parse_json(plain, nullptr, kStoredJsonDepth);
    if (!value) {
      st.database().fail(std::string("column ") + column + " does not hold valid JSON");
    }
    return std::move(*value);
  }

  // At start-up: seals binding responses written in plaintext (before sealing existed) or with a
  // key that is no longer the current one, so that rotated-out keys can be dropped after one
  // restart. Fails, naming the key, when a response was sealed with a key osbd was not given.
  void reseal_bindings() {
    sqlite::Transaction tx(writer_);
    std::vector<std::tuple<std::string, std::string, std::string>> rewrites;
    {
      Statement sel(writer_,
                    "SELECT instance_id, id, response FROM bindings WHERE response IS NOT NULL",
                    "scan binding responses");
      while (sel.step()) {
        const std::string text = sel.text(2);
        if (SecretBox::key_id_of(text) == box_.current_key_id()) {
          continue;
        }
        std::string plain = text;
        if (SecretBox::is_sealed(text)) {
          try {
            plain = box_.open(text);
          } catch (const std::exception& e) {
            throw StoreError("osbd state store " + writer_.path() + ": binding " + sel.text(0) +
                             "/" + sel.text(1) + ": " + e.what() +
                             " (credentials_encryption.key_file, previous_key_files)");
          }
        }
        rewrites.emplace_back(sel.text(0), sel.text(1), box_.seal(plain));
      }
    }
    for (const auto& [instance_id, binding_id, sealed] : rewrites) {
      Statement upd(writer_,
                    "UPDATE bindings SET response = :response WHERE instance_id = :instance_id "
                    "AND id = :id",
                    "reseal binding response");
      upd.bind(":response", sealed).bind(":instance_id", instance_id).bind(":id", binding_id);
      upd.run();
    }
    tx.commit();
  }

  json decode(const Statement& st, int i, const char* column) const {
    const auto text = st.optional_text(i);
    if (!text) {
      return json();
    }
    auto value = util::parse_json(*text, nullptr, kStoredJsonDepth);
    if (!value) {
      // The parser's message quotes the text it read, so it is not passed on.
      st.database().fail(std::string("column ") + column + " does not hold valid JSON");
    }
    return std::move(*value);
  }

  ResourceStatus decode_status(const Statement& st, int i) const {
    const auto v = parse_resource_status(st.text(i));
    if (!v) {
      st.database().fail("column status holds an unknown resource status");
    }
    return *v;
  }

  void bind_instance(Statement& st, const InstanceRecord& r, ResourceStatus status,
                     const std::string& active_operation) const {
    st.bind(":id", r.id)
        .bind(":service_id", r.service_id)
        .bind(":plan_id", r.plan_id)
        .bind(":plugin", r.plugin)
        .bind(":organization_guid", r.organization_guid)
        .bind(":space_guid", r.space_guid)
        .bind_nullable(":parameters", encode(r.parameters, "instances.parameters"))
        .bind_nullable(":context", encode(r.context, "instances.context"))
        .bind_nullable(":originating_identity",
                       encode(r.originating_identity, "instances.originating_identity"))
        .bind_nullable(":maintenance_info",
                       encode(r.maintenance_info, "instances.maintenance_info"))
        .bind(":dashboard_url", r.dashboard_url)
        .bind_nullable(":metadata", encode(r.metadata, "instances.metadata"))
        .bind_nullable(":plugin_state", encode(r.plugin_state, "instances.plugin_state"))
        .bind(":status", to_string(status))
        .bind(":active_operation", active_operation)
        .bind(":last_operation", active_operation)
        .bind(":created_at_ms", r.created_at_ms)
        .bind(":updated_at_ms", r.updated_at_ms);
  }

  void bind_binding(Statement& st, const BindingRecord& r, ResourceStatus status,
                    const std::string& active_operation) const {
    st.bind(":instance_id", r.instance_id)
        .bind(":id", r.id)
        .bind(":service_id", r.service_id)
        .bind(":plan_id", r.plan_id)
        .bind(":app_guid", r.app_guid)
        .bind_nullable(":parameters", encode(r.parameters, "bindings.parameters"))
        .bind_nullable(":context", encode(r.context, "bindings.context"))
        .bind_nullable(":bind_resource", encode(r.bind_resource, "bindings.bind_resource"))
        .bind_nullable(":response", encode_sealed(r.response, "bindings.response"))
        .bind_nullable(":plugin_state", encode(r.plugin_state, "bindings.plugin_state"))
        .bind(":status", to_string(status))
        .bind(":active_operation", active_operation)
        .bind(":last_operation", active_operation)
        .bind(":created_at_ms", r.created_at_ms)
        .bind(":updated_at_ms", r.updated_at_ms);
  }

  // The operation row's instance_id and binding_id are taken from the resource the method acts
  // on, so the row names the resource it belongs to.
  void bind_operation(Statement& st, const OperationRecord& op, const std::string& instance_id,
                      const std::string& binding_id) const {
    st.bind(":id", op.id)
        .bind(":instance_id", instance_id)
        .bind(":binding_id", binding_id)
        .bind(":kind", to_string(op.kind))
        .bind(":state", to_string(op.state))
        .bind(":description", op.description)
        .bind_bool(":async", op.async)
        .bind(":plugin_operation", op.plugin_operation)
        .bind_nullable(":request", encode(op.request, "operations.request"))
        .bind(":attempts", static_cast<int64_t>(op.attempts))
        .bind(":created_at_ms", op.created_at_ms)
        .bind(":updated_at_ms", op.updated_at_ms)
        .bind(":deadline_ms", op.deadline_ms);
  }

  static constexpr const char* kInsertOperation =
      "INSERT INTO operations (id, instance_id, binding_id, kind, state, description, async, "
      "plugin_operation, request, attempts, created_at_ms, updated_at_ms, deadline_ms) "
      "VALUES (:id, :instance_id, :binding_id, :kind, :state, :description, :async, "
      ":plugin_operation, :request, :attempts, :created_at_ms, :updated_at_ms, :deadline_ms)";

  // A new operation id must be new: a clash is a broken id generator and fails the transaction.
  void insert_operation(const OperationRecord& op, const std::string& instance_id,
                        const std::string& binding_id) {
    Statement st(writer_, kInsertOperation, "record operation");
    bind_operation(st, op, instance_id, binding_id);
    st.run();
  }

  // Writes what the end of an operation changes in its row; the rest (ids, kind, request) was
  // written when it began. An operation that was never begun (no row) is written in full.
  void end_operation(const OperationRecord& op, const std::string& instance_id,
                     const std::string& binding_id) {
    Statement upd(writer_,
                  "UPDATE operations SET state = :state, description = :description, "
                  "plugin_operation = :plugin_operation, attempts = :attempts, "
                  "updated_at_ms = :updated_at_ms, deadline_ms = :deadline_ms WHERE id = :id",
                  "end operation");
    upd.bind(":id", op.id)
        .bind(":state", to_string(op.state))
        .bind(":description", op.description)
        .bind(":plugin_operation", op.plugin_operation)
        .bind(":attempts", static_cast<int64_t>(op.attempts))
        .bind(":updated_at_ms", op.updated_at_ms)
        .bind(":deadline_ms", op.deadline_ms)
        .run();
    if (writer_.changes() == 0) {
      upsert_operation(op, instance_id, binding_id);
    }
  }

  void mark_removed(const std::string& instance_id, const std::string& binding_id,
                    const OperationRecord& op) {
    Statement mark(writer_,
                   "INSERT OR REPLACE INTO removed_resources (instance_id, binding_id, "
                   "last_operation, removed_at_ms) VALUES (:instance_id, :binding_id, :op, :at)",
                   "mark removed resource");
    mark.bind(":instance_id", instance_id)
        .bind(":binding_id", binding_id)
        .bind(":op", op.id)
        .bind(":at", op.updated_at_ms)
        .run();
  }

  void delete_operation_row(const std::string& op_id) {
    Statement del(writer_, "DELETE FROM operations WHERE id = :id", "delete operation");
    del.bind(":id", op_id).run();
  }

  // An upsert (not INSERT OR REPLACE) keeps the row's seq, and with it its place in the order.
  void upsert_operation(const OperationRecord& op, const std::string& instance_id,
                        const std::string& binding_id) {
    // Built once: the statement cache finds it by its text.
    static const std::string sql =
        std::string(kInsertOperation) +
        " ON CONFLICT (id) DO UPDATE SET instance_id = excluded.instance_id, "
        "binding_id = excluded.binding_id, kind = excluded.kind, "
        "state = excluded.state, description = excluded.description, "
        "async = excluded.async, plugin_operation = excluded.plugin_operation, "
        "request = excluded.request, attempts = excluded.attempts, "
        "created_at_ms = excluded.created_at_ms, "
        "updated_at_ms = excluded.updated_at_ms, "
        "deadline_ms = excluded.deadline_ms";
    Statement st(writer_, sql.c_str(), "write operation");
    bind_operation(st, op, instance_id, binding_id);
    st.run();
  }

  // --- decoding ------------------------------------------------------------------------------

  InstanceRecord read_instance(const Statement& st) const {
    InstanceRecord r;
    r.id = st.text(0);
    r.service_id = st.text(1);
    r.plan_id = st.text(2);
    r.plugin = st.text(3);
    r.organization_guid = st.text(4);
    r.space_guid = st.text(5);
    r.parameters = decode(st, 6, "instances.parameters");
    r.context = decode(st, 7, "instances.context");
    r.originating_identity = decode(st, 8, "instances.originating_identity");
    r.maintenance_info = decode(st, 9, "instances.maintenance_info");
    r.dashboard_url = st.text(10);
    r.metadata = decode(st, 11, "instances.metadata");
    r.plugin_state = decode(st, 12, "instances.plugin_state");
    r.status = decode_status(st, 13);
    r.active_operation = st.text(14);
    r.last_operation = st.text(15);
    r.created_at_ms = st.integer(16);
    r.updated_at_ms = st.integer(17);
    return r;
  }

  BindingRecord read_binding(const Statement& st) const {
    BindingRecord r;
    r.instance_id = st.text(0);
    r.id = st.text(1);
    r.service_id = st.text(2);
    r.plan_id = st.text(3);
    r.app_guid = st.text(4);
    r.parameters = decode(st, 5, "bindings.parameters");
    r.context = decode(st, 6, "bindings.context");
    r.bind_resource = decode(st, 7, "bindings.bind_resource");
    r.response = decode_sealed(st, 8, "bindings.response");
    r.plugin_state = decode(st, 9, "bindings.plugin_state");
    r.status = decode_status(st, 10);
    r.active_operation = st.text(11);
    r.last_operation = st.text(12);
    r.created_at_ms = st.integer(13);
    r.updated_at_ms = st.integer(14);
    return r;
  }

  OperationRecord read_operation(const Statement& st) const {
    OperationRecord r;
    r.id = st.text(0);
    r.instance_id = st.text(1);
    r.binding_id = st.text(2);
    const auto kind = parse_operation_kind(st.text(3));
    if (!kind) {
      st.database().fail("column operations.kind holds an unknown operation kind");
    }
    r.kind = *kind;
    const auto state = parse_operation_state(st.text(4));
    if (!state) {
      st.database().fail("column operations.state holds an unknown operation state");
    }
    r.state = *state;
    r.description = st.text(5);
    r.async = st.integer(6) != 0;
    r.plugin_operation = st.text(7);
    r.request = decode(st, 8, "operations.request");
    r.attempts = static_cast<int>(st.integer(9));
    r.created_at_ms = st.integer(10);
    r.updated_at_ms = st.integer(11);
    r.deadline_ms = st.integer(12);
    return r;
  }

  // --- refusals ------------------------------------------------------------------------------

  bool instance_exists(const std::string& instance_id) {
    Statement st(writer_, "SELECT 1 FROM instances WHERE id = :id", "read instance");
    st.bind(":id", instance_id);
    return st.step();
  }

  bool binding_exists(const std::string& instance_id, const std::string& binding_id) {
    Statement st(writer_, "SELECT 1 FROM bindings WHERE instance_id = :instance_id AND id = :id",
                 "read binding");
    st.bind(":instance_id", instance_id).bind(":id", binding_id);
    return st.step();
  }

  // Runs inside the refused transaction, so it sees exactly the state the insert saw. A binding
  // that exists is reported as such even while the instance is busy: the caller then compares it
  // with the request, and an identical repeat of a finished bind is not a conflict.
  BeginResult explain_create_binding_refusal(const std::string& instance_id,
                                             const std::string& binding_id) {
    Statement st(writer_, "SELECT status, active_operation FROM instances WHERE id = :id",
                 "read instance");
    st.bind(":id", instance_id);
    if (!st.step() || st.text(0) != to_string(ResourceStatus::ready)) {
      return BeginResult::missing;
    }
    if (binding_exists(instance_id, binding_id)) {
      return BeginResult::exists;
    }
    return BeginResult::busy;
  }

  // Hands write to the group commit as an asynchronous unit; see write_async and queue_write.
  void submit_async(AsyncWrite& write, bool lead) noexcept {
    // Allocated here, freed by its done: the unit outlives this call when another thread leads.
    struct Job : sqlite::GroupCommit::AsyncUnit {
      AsyncWrite* write = nullptr;
    };
    Job* job = nullptr;
    try {
      job = new Job;
    } catch (...) {
      write.done(std::current_exception());
      return;
    }
    job->write = &write;
    job->before_sync = write.intent_only();
    job->fn = [](sqlite::GroupCommit::AsyncUnit& u) { static_cast<Job&>(u).write->run(); };
    job->done = [](sqlite::GroupCommit::AsyncUnit& u, std::exception_ptr error) noexcept {
      auto* j = static_cast<Job*>(&u);
      AsyncWrite* w = j->write;
      delete j;
      w->done(std::move(error));
    };
    commit_.run_async(*job, lead);
  }

  // --- connections ---------------------------------------------------------------------------

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

  std::string path_;
  struct stat opened_ {};  // the database file as opened, for check()
  SecretBox box_;
  // Used only by the batch leader of the moment (inside write units) and, before any method can
  // run, by the constructor. Declared first so that it closes last, after the readers.
  Database writer_;
  sqlite::GroupCommit commit_;
  sqlite::ReaderPool readers_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& data_dir,
                                         const SealingOptions& sealing) {
  const std::string path = prepare_files(data_dir);
  std::vector<SecretBox::Key> keys;
  try {
    const std::string key_file =
        sealing.key_file.empty() ? (std::filesystem::path(data_dir) / "credentials.key").string()
                                 : sealing.key_file;
    keys.push_back(SecretBox::load_key_file(key_file, /*create=*/true));
    for (const auto& old : sealing.previous_key_files) {
      keys.push_back(SecretBox::load_key_file(old, /*create=*/false));
    }
  } catch (const std::runtime_error& e) {
    throw StoreError(std::string("osbd state store: ") + e.what());
  }
  return std::make_unique<SqliteStore>(path, SecretBox(std::move(keys)));
}

}  // namespace osbd::state

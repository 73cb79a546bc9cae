#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "state/store.hpp"
#include "test_support.hpp"

namespace osbd::state {
namespace {

using ::testing::HasSubstr;
using testing::make_binding;
using testing::make_instance;
using testing::make_op;
using ::testing::Not;
using testing::TempDir;

mode_t mode_of(const std::string& path) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) {
    return 0;
  }
  return sb.st_mode & 07777;
}

/// Runs one statement on the database file through a separate raw connection.
void raw_exec(const std::string& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

/// First column of the first row of a query, as text.
std::string raw_query(const std::string& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  std::string out = "<no row>";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    const auto* t = sqlite3_column_text(st, 0);
    out = t != nullptr ? reinterpret_cast<const char*>(t) : "<null>";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_sqlite_store(dir_.data_dir()); }

  void reopen() {
    store_.reset();
    store_ = open_sqlite_store(dir_.data_dir());
  }

  /// Creates a ready, idle instance the way the broker does: begin, then finish successfully.
  void create_ready_instance(const std::string& id, int64_t at_ms = 1000) {
    auto inst = make_instance(id, at_ms);
    auto op = make_op("prov-" + id, OperationKind::provision, id, "", at_ms);
    ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);
    inst.status = ResourceStatus::ready;
    op.state = OperationState::succeeded;
    store_->finish_instance_operation(inst, op);
  }

  /// Deprovisions an idle instance the way the broker does: begin, then delete.
  void remove_instance(const std::string& id, const std::string& op_id, int64_t at_ms) {
    auto op = make_op(op_id, OperationKind::deprovision, id, "", at_ms);
    ASSERT_EQ(store_->begin_instance_operation(id, op, ResourceStatus::deleting, true),
              BeginResult::started);
    op.state = OperationState::succeeded;
    store_->delete_instance(id, op);
  }

  /// Creates a ready, idle binding on a ready instance.
  void create_ready_binding(const std::string& iid, const std::string& bid, int64_t at_ms = 2000) {
    auto b = make_binding(iid, bid, at_ms);
    auto op = make_op("bind-" + iid + "-" + bid, OperationKind::bind, iid, bid, at_ms);
    ASSERT_EQ(store_->begin_create_binding(b, op), BeginResult::started);
    b.status = ResourceStatus::ready;
    b.response = {{"credentials", {{"password", "s3cret"}}}};
    op.state = OperationState::succeeded;
    store_->finish_binding_operation(b, op);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// --- opening and schema -------------------------------------------------------------------------

TEST_F(SqliteStoreTest, CreatesDataDirAndFilesOwnerOnly) {
  EXPECT_EQ(mode_of(dir_.data_dir()), 0700u);
  EXPECT_EQ(mode_of(dir_.db_file()), 0600u);
  create_ready_instance("i1");
  // WAL and shared-memory files take the database file's mode.
  EXPECT_EQ(mode_of(dir_.db_file() + "-wal"), 0600u);
  EXPECT_EQ(mode_of(dir_.db_file() + "-shm"), 0600u);
}

TEST(SqliteStoreOpen, CreatesMissingParents) {
  TempDir dir;
  const std::string nested = dir.path() + "/a/b/data";
  auto store = open_sqlite_store(nested);
  EXPECT_EQ(mode_of(nested), 0700u);
  EXPECT_EQ(mode_of(nested + "/osbd.db"), 0600u);
}

TEST(SqliteStoreOpen, TightensAnExistingDatabaseFile) {
  TempDir dir;
  std::filesystem::create_directory(dir.data_dir());
  { std::ofstream(dir.db_file()).flush(); }
  ASSERT_EQ(::chmod(dir.db_file().c_str(), 0644), 0);
  auto store = open_sqlite_store(dir.data_dir());
  EXPECT_EQ(mode_of(dir.db_file()), 0600u);
}

TEST(SqliteStoreOpen, UsesWalAndConfiguredPragmas) {
  TempDir dir;
  auto store = open_sqlite_store(dir.data_dir());
  EXPECT_EQ(raw_query(dir.db_file(), "PRAGMA journal_mode"), "wal");
}

TEST(SqliteStoreOpen, DataDirThatIsAFileNamesThePath) {
  TempDir dir;
  const std::string file = dir.path() + "/not-a-dir";
  { std::ofstream(file) << "x"; }
  try {
    open_sqlite_store(file);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(file));
  }
}

TEST(SqliteStoreOpen, NotADatabaseNamesThePath) {
  TempDir dir;
  std::filesystem::create_directory(dir.data_dir());
  { std::ofstream(dir.db_file()) << std::string(8192, 'z'); }
  try {
    open_sqlite_store(dir.data_dir());
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir.db_file()));
  }
}

TEST_F(SqliteStoreTest, SchemaVersionIsLatestAndAppliedOnce) {
  EXPECT_EQ(store_->schema_version(), 2);
  reopen();
  EXPECT_EQ(store_->schema_version(), 2);
  EXPECT_EQ(raw_query(dir_.db_file(), "SELECT COUNT(*) FROM schema_migrations"), "2");
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefusedNamingPathAndBothVersions) {
  store_.reset();
  raw_exec(dir_.db_file(),
           "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (999, 0)");
  try {
    open_sqlite_store(dir_.data_dir());
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir_.db_file()));
    EXPECT_THAT(e.what(), HasSubstr("version 999"));
    EXPECT_THAT(e.what(), HasSubstr("(version 2)"));
  }
}

TEST_F(SqliteStoreTest, UnfinishedOperationsQueryUsesPartialIndex) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.db_file().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT id FROM operations WHERE state = 'in "
                               "progress' ORDER BY created_at_ms, seq",
                               -1, &st, nullptr),
            SQLITE_OK);
  std::string details;
  while (sqlite3_step(st) == SQLITE_ROW) {
    details += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    details += ";";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_THAT(details, HasSubstr("operations_unfinished"));
}

/// Expects got, just read back after its create began with op_id at at_ms, to be in the state
/// every created resource starts in, with the plugin state it was sent with.
void expect_just_created(const ResourceLifecycle& got, const ResourceLifecycle& sent,
                         const std::string& op_id, int64_t at_ms) {
  EXPECT_EQ(got.plugin_state, sent.plugin_state);
  EXPECT_EQ(got.status, ResourceStatus::creating);
  EXPECT_EQ(got.active_operation, op_id);
  EXPECT_EQ(got.last_operation, op_id);
  EXPECT_EQ(got.created_at_ms, at_ms);
  EXPECT_EQ(got.updated_at_ms, at_ms);
}

// --- instances ----------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, CreateInstanceRoundTripsEveryField) {
  auto inst = make_instance("inst-1", 1234);
  inst.status = ResourceStatus::ready;  // the store records creating regardless
  inst.active_operation = "ignored";
  auto op = make_op("op-1", OperationKind::provision, "inst-1", "", 1234);
  op.description = "provisioning";
  op.plugin_operation = "tok-1";
  op.attempts = 2;
  op.async = true;
  op.request = {{"parameters", {{"x", nullptr}, {"y", 1.5}}}, {"unicode", "日本"}};
  ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);

  const auto got = store_->get_instance("inst-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, "inst-1");
  EXPECT_EQ(got->service_id, inst.service_id);
  EXPECT_EQ(got->plan_id, inst.plan_id);
  EXPECT_EQ(got->plugin, inst.plugin);
  EXPECT_EQ(got->organization_guid, inst.organization_guid);
  EXPECT_EQ(got->space_guid, inst.space_guid);
  EXPECT_EQ(got->parameters, inst.parameters);
  EXPECT_EQ(got->context, inst.context);
  EXPECT_EQ(got->originating_identity, inst.originating_identity);
  EXPECT_EQ(got->maintenance_info, inst.maintenance_info);
  EXPECT_EQ(got->dashboard_url, inst.dashboard_url);
  EXPECT_EQ(got->metadata, inst.metadata);
  expect_just_created(*got, inst, "op-1", 1234);

  const auto got_op = store_->get_operation("op-1");
  ASSERT_TRUE(got_op);
  EXPECT_EQ(got_op->id, "op-1");
  EXPECT_EQ(got_op->instance_id, "inst-1");
  EXPECT_EQ(got_op->binding_id, "");
  EXPECT_EQ(got_op->kind, OperationKind::provision);
  EXPECT_EQ(got_op->state, OperationState::in_progress);
  EXPECT_EQ(got_op->description, "provisioning");
  EXPECT_TRUE(got_op->async);
  EXPECT_EQ(got_op->plugin_operation, "tok-1");
  EXPECT_EQ(got_op->request, op.request);
  EXPECT_EQ(got_op->attempts, 2);
  EXPECT_EQ(got_op->created_at_ms, 1234);
  EXPECT_EQ(got_op->updated_at_ms, 1234);
  EXPECT_EQ(got_op->deadline_ms, op.deadline_ms);
}

TEST_F(SqliteStoreTest, NullAndEmptyJsonStayDistinct) {
  auto inst = make_instance("inst-1");
  inst.parameters = nullptr;
  inst.context = nlohmann::json::object();
  inst.originating_identity = nullptr;
  inst.maintenance_info = nlohmann::json::array();
  inst.metadata = "";
  inst.plugin_state = nullptr;
  auto op = make_op("op-1", OperationKind::provision, "inst-1");
  op.request = nullptr;
  ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);
  const auto got = store_->get_instance("inst-1");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->parameters.is_null());
  EXPECT_EQ(got->context, nlohmann::json::object());
  EXPECT_TRUE(got->originating_identity.is_null());
  EXPECT_EQ(got->maintenance_info, nlohmann::json::array());
  EXPECT_EQ(got->metadata, nlohmann::json(""));
  EXPECT_TRUE(got->plugin_state.is_null());
  EXPECT_TRUE(store_->get_operation("op-1")->request.is_null());
  // JSON null is SQL NULL in the file, never the text "null".
  EXPECT_EQ(raw_query(dir_.db_file(), "SELECT COUNT(*) FROM instances WHERE parameters IS NULL"),
            "1");
}

TEST_F(SqliteStoreTest, GetUnknownReturnsNothing) {
  EXPECT_FALSE(store_->get_instance("nope"));
  EXPECT_FALSE(store_->get_binding("nope", "b"));
  EXPECT_FALSE(store_->get_operation("nope"));
  EXPECT_FALSE(store_->latest_operation("nope", ""));
  EXPECT_TRUE(store_->list_bindings("nope").empty());
  EXPECT_TRUE(store_->list_instances().empty());
  EXPECT_TRUE(store_->list_unfinished_operations().empty());
}

TEST_F(SqliteStoreTest, BeginCreateInstanceTwiceIsExistsAndWritesNothing) {
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("op-1", OperationKind::provision, "i1")),
            BeginResult::started);
  auto other = make_instance("i1");
  other.plan_id = "plan-2";
  EXPECT_EQ(store_->begin_create_instance(other, make_op("op-2", OperationKind::provision, "i1")),
            BeginResult::exists);
  EXPECT_EQ(store_->get_instance("i1")->plan_id, "plan-1");
  EXPECT_EQ(store_->get_instance("i1")->active_operation, "op-1");
  EXPECT_FALSE(store_->get_operation("op-2"));
}

TEST_F(SqliteStoreTest, BeginInstanceOperationBusyWhileAnotherIsActive) {
  // A provision in progress holds the instance.
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("op-1", OperationKind::provision, "i1")),
            BeginResult::started);
  EXPECT_EQ(store_->begin_instance_operation("i1", make_op("op-2", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::busy);
  EXPECT_FALSE(store_->get_operation("op-2"));
  EXPECT_EQ(store_->get_instance("i1")->status, ResourceStatus::creating);
}

TEST_F(SqliteStoreTest, BeginInstanceOperationStartsOnIdleInstance) {
  create_ready_instance("i1");
  auto op = make_op("op-2", OperationKind::deprovision, "i1", "", 5000);
  ASSERT_EQ(store_->begin_instance_operation("i1", op, ResourceStatus::deleting, true),
            BeginResult::started);
  const auto got = store_->get_instance("i1");
  EXPECT_EQ(got->status, ResourceStatus::deleting);
  EXPECT_EQ(got->active_operation, "op-2");
  EXPECT_EQ(got->last_operation, "op-2");
  EXPECT_EQ(got->updated_at_ms, 5000);
  EXPECT_EQ(store_->get_operation("op-2")->kind, OperationKind::deprovision);
  EXPECT_EQ(store_->begin_instance_operation("i1", make_op("op-3", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::busy);
}

TEST_F(SqliteStoreTest, BeginInstanceOperationBusyWhenABindingIsActiveAndChecked) {
  create_ready_instance("i1");
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-1", OperationKind::bind, "i1", "b1")),
            BeginResult::started);
  EXPECT_EQ(
      store_->begin_instance_operation("i1", make_op("op-2", OperationKind::deprovision, "i1"),
                                       ResourceStatus::deleting, true),
      BeginResult::busy);
  EXPECT_FALSE(store_->get_operation("op-2"));
  EXPECT_EQ(store_->get_instance("i1")->status, ResourceStatus::ready);
  // An update does not care about bindings.
  EXPECT_EQ(store_->begin_instance_operation("i1", make_op("op-3", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::started);
}

TEST_F(SqliteStoreTest, BeginInstanceOperationMissingForUnknownInstance) {
  EXPECT_EQ(store_->begin_instance_operation("nope", make_op("op-1", OperationKind::update, "nope"),
                                             ResourceStatus::ready, true),
            BeginResult::missing);
  EXPECT_FALSE(store_->get_operation("op-1"));
}

TEST_F(SqliteStoreTest, FinishClearsActiveOperationAndWritesBothRows) {
  auto inst = make_instance("i1");
  auto op = make_op("op-1", OperationKind::provision, "i1");
  ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);

  inst.status = ResourceStatus::ready;
  inst.active_operation = "op-1";  // the store clears it whatever the caller passes
  inst.dashboard_url = "https://dash.example/new";
  inst.plugin_state = {{"handle", 43}};
  inst.updated_at_ms = 3000;
  op.state = OperationState::succeeded;
  op.description = "done";
  op.updated_at_ms = 3000;
  store_->finish_instance_operation(inst, op);

  const auto got = store_->get_instance("i1");
  EXPECT_EQ(got->status, ResourceStatus::ready);
  EXPECT_EQ(got->active_operation, "");
  EXPECT_EQ(got->last_operation, "op-1");
  EXPECT_EQ(got->dashboard_url, "https://dash.example/new");
  EXPECT_EQ(got->plugin_state, (nlohmann::json{{"handle", 43}}));
  EXPECT_EQ(got->updated_at_ms, 3000);
  const auto got_op = store_->get_operation("op-1");
  EXPECT_EQ(got_op->state, OperationState::succeeded);
  EXPECT_EQ(got_op->description, "done");
  EXPECT_TRUE(store_->list_unfinished_operations().empty());
  // Idle again: the next operation may start.
  EXPECT_EQ(store_->begin_instance_operation("i1", make_op("op-2", OperationKind::update, "i1"),
                                             ResourceStatus::ready, true),
            BeginResult::started);
}

TEST_F(SqliteStoreTest, FinishWritesWhatAnOperationChangesAndKeepsWhatWasFixedAtItsBegin) {
  auto inst = make_instance("i1");
  auto op = make_op("op-1", OperationKind::provision, "i1");
  op.request = {{"parameters", {{"size", 1}}}};
  ASSERT_EQ(store_->begin_create_instance(inst, op), BeginResult::started);

  auto changed = inst;
  changed.organization_guid = "org-other";  // fixed at create: kept
  changed.created_at_ms = 1;                // kept
  changed.plan_id = "plan-2";
  changed.parameters = {{"size", 2}};
  changed.maintenance_info = {{"version", "2.0.0"}};
  changed.metadata = {{"labels", {{"tier", "gold"}}}};
  changed.status = ResourceStatus::ready;
  auto ended = op;
  ended.request = {{"parameters", {{"size", 9}}}};  // written at begin: kept
  ended.state = OperationState::succeeded;
  ended.plugin_operation = "token-1";
  ended.attempts = 3;
  ended.deadline_ms = 9000;
  store_->finish_instance_operation(changed, ended);

  const auto got = store_->get_instance("i1").value();
  EXPECT_EQ(got.organization_guid, inst.organization_guid);
  EXPECT_EQ(got.created_at_ms, inst.created_at_ms);
  EXPECT_EQ(got.plan_id, "plan-2");
  EXPECT_EQ(got.parameters, changed.parameters);
  EXPECT_EQ(got.maintenance_info, changed.maintenance_info);
  EXPECT_EQ(got.metadata, changed.metadata);
  EXPECT_EQ(got.status, ResourceStatus::ready);
  const auto got_op = store_->get_operation("op-1").value();
  EXPECT_EQ(got_op.request, op.request);
  EXPECT_EQ(got_op.state, OperationState::succeeded);
  EXPECT_EQ(got_op.plugin_operation, "token-1");
  EXPECT_EQ(got_op.attempts, 3);
  EXPECT_EQ(got_op.deadline_ms, 9000);
}

TEST_F(SqliteStoreTest, EndingAnOperationWithoutARowWritesItInFull) {
  create_ready_instance("i1");
  auto op = make_op("deprov-unbegun", OperationKind::deprovision, "i1", "", 5000);
  op.request = {{"previous_status", "ready"}};
  op.state = OperationState::succeeded;
  store_->delete_instance("i1", op);
  const auto got = store_->get_operation("deprov-unbegun");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->kind, OperationKind::deprovision);
  EXPECT_EQ(got->request, op.request);
  EXPECT_EQ(got->state, OperationState::succeeded);
}

TEST_F(SqliteStoreTest, FinishOfAnOperationThatDoesNotHoldTheInstanceLeavesItAlone) {
  create_ready_instance("i1");
  auto update = make_op("op-2", OperationKind::update, "i1");
  ASSERT_EQ(store_->begin_instance_operation("i1", update, ResourceStatus::ready, false),
            BeginResult::started);
  auto stale = make_instance("i1");
  stale.plan_id = "plan-stale";
  auto stale_op = store_->get_operation("prov-i1").value();
  stale_op.description = "late";
  store_->finish_instance_operation(stale, stale_op);
  const auto got = store_->get_instance("i1");
  EXPECT_EQ(got->active_operation, "op-2");
  EXPECT_EQ(got->plan_id, "plan-1");
  EXPECT_EQ(store_->get_operation("prov-i1")->description, "late");
}

TEST_F(SqliteStoreTest, DeleteInstanceRemovesBindingsButKeepsOperations) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 2000);
  create_ready_binding("i1", "b2", 2001);
  auto op = make_op("deprov-1", OperationKind::deprovision, "i1", "", 3000);
  ASSERT_EQ(store_->begin_instance_operation("i1", op, ResourceStatus::deleting, false),
            BeginResult::started);
  op.state = OperationState::succeeded;
  store_->delete_instance("i1", op);

  EXPECT_FALSE(store_->get_instance("i1"));
  EXPECT_FALSE(store_->get_binding("i1", "b1"));
  EXPECT_TRUE(store_->list_bindings("i1").empty());
  EXPECT_EQ(raw_query(dir_.db_file(), "SELECT COUNT(*) FROM bindings"), "0");

  const auto latest = store_->latest_operation("i1", "");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, "deprov-1");
  EXPECT_EQ(latest->state, OperationState::succeeded);
  ASSERT_TRUE(store_->latest_operation("i1", "b2"));
  EXPECT_EQ(store_->latest_operation("i1", "b2")->id, "bind-i1-b2");
  EXPECT_TRUE(store_->get_operation("prov-i1"));
  // The id is free again.
  EXPECT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("prov-again", OperationKind::provision, "i1")),
            BeginResult::started);
}

// --- credentials at rest ------------------------------------------------------------------------

/// Every byte of the store's files (database and WAL), to search for plaintext secrets.
std::string all_file_bytes(const std::string& db_file) {
  std::string out;
  for (const std::string& f : {db_file, db_file + "-wal"}) {
    std::ifstream in(f, std::ios::binary);
    out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

TEST_F(SqliteStoreTest, BindingCredentialsAreSealedAtRest) {
  create_ready_instance("i1");
  create_ready_binding("i1", "b1");
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
  const std::string column =
      raw_query(dir_.db_file(), "SELECT response FROM bindings WHERE id = 'b1'");
  EXPECT_EQ(column.rfind("osbd-sealed-v1:", 0), 0u) << column;
  EXPECT_EQ(all_file_bytes(dir_.db_file()).find("s3cret"), std::string::npos);
  EXPECT_EQ(mode_of(dir_.data_dir() + "/credentials.key"), 0600u);
  reopen();
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
}

TEST_F(SqliteStoreTest, PlaintextResponsesFromBeforeSealingAreSealedAtStartUp) {
  create_ready_instance("i1");
  create_ready_binding("i1", "b1");
  raw_exec(dir_.db_file(),
           R"(UPDATE bindings SET response = '{"credentials":{"password":"legacy"}}')");
  reopen();
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "legacy");
  EXPECT_EQ(raw_query(dir_.db_file(), "SELECT response FROM bindings").rfind("osbd-sealed-v1:", 0),
            0u);
}

TEST_F(SqliteStoreTest, KeyRotationResealsWithTheNewKeyAndThenNeedsOnlyIt) {
  create_ready_instance("i1");
  create_ready_binding("i1", "b1");
  const std::string old_key = dir_.data_dir() + "/credentials.key";
  const std::string new_key = dir_.path() + "/new.key";
  store_.reset();
  // The new key first, the old one among the previous keys: everything is resealed.
  store_ = open_sqlite_store(dir_.data_dir(), {new_key, {old_key}});
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
  store_.reset();
  store_ = open_sqlite_store(dir_.data_dir(), {new_key, {}});
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
}

TEST_F(SqliteStoreTest, MissingKeyStopsTheOpenNamingIt) {
  create_ready_instance("i1");
  create_ready_binding("i1", "b1");
  store_.reset();
  const std::string other = dir_.path() + "/other.key";
  try {
    open_sqlite_store(dir_.data_dir(), {other, {}});
    FAIL() << "expected a StoreError";
  } catch (const StoreError& e) {
    const std::string message = e.what();
    EXPECT_THAT(message, HasSubstr("binding i1/b1"));
    EXPECT_THAT(message, HasSubstr("not among the configured keys"));
    EXPECT_THAT(message, HasSubstr("previous_key_files"));
    EXPECT_THAT(message, Not(HasSubstr("s3cret")));
  }
  // Nothing was changed: the right key still opens it.
  store_ = open_sqlite_store(dir_.data_dir());
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
}

// --- bindings -----------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, BindingBeginFinishDelete) {
  create_ready_instance("i1");
  auto b = make_binding("i1", "b1", 2000);
  b.status = ResourceStatus::ready;  // recorded as creating
  auto op = make_op("bop-1", OperationKind::bind, "i1", "b1", 2000);
  ASSERT_EQ(store_->begin_create_binding(b, op), BeginResult::started);
  auto got = store_->get_binding("i1", "b1");
  ASSERT_TRUE(got);
  expect_just_created(*got, b, "bop-1", 2000);
  EXPECT_EQ(got->instance_id, "i1");
  EXPECT_EQ(got->service_id, b.service_id);
  EXPECT_EQ(got->plan_id, b.plan_id);
  EXPECT_EQ(got->app_guid, b.app_guid);
  EXPECT_EQ(got->parameters, b.parameters);
  EXPECT_EQ(got->context, b.context);
  EXPECT_EQ(got->bind_resource, b.bind_resource);
  EXPECT_TRUE(got->response.is_null());
  EXPECT_EQ(store_->get_operation("bop-1")->binding_id, "b1");

  b.status = ResourceStatus::ready;
  b.response = {{"credentials", {{"uri", "db://u:p@h/d"}}}, {"endpoints", nlohmann::json::array()}};
  b.updated_at_ms = 2500;
  op.state = OperationState::succeeded;
  store_->finish_binding_operation(b, op);
  got = store_->get_binding("i1", "b1");
  EXPECT_EQ(got->status, ResourceStatus::ready);
  EXPECT_EQ(got->active_operation, "");
  EXPECT_EQ(got->response, b.response);
  EXPECT_EQ(got->updated_at_ms, 2500);
  EXPECT_EQ(store_->get_operation("bop-1")->state, OperationState::succeeded);

  auto unbind = make_op("bop-2", OperationKind::unbind, "i1", "b1", 4000);
  ASSERT_EQ(store_->begin_binding_operation("i1", "b1", unbind, ResourceStatus::deleting),
            BeginResult::started);
  got = store_->get_binding("i1", "b1");
  EXPECT_EQ(got->status, ResourceStatus::deleting);
  EXPECT_EQ(got->active_operation, "bop-2");
  EXPECT_EQ(got->updated_at_ms, 4000);
  unbind.state = OperationState::succeeded;
  store_->delete_binding("i1", "b1", unbind);
  EXPECT_FALSE(store_->get_binding("i1", "b1"));
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bop-2");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->state, OperationState::succeeded);
  EXPECT_TRUE(store_->get_instance("i1"));
}

TEST_F(SqliteStoreTest, BeginCreateBindingMissingWhenInstanceUnknownOrNotReady) {
  EXPECT_EQ(store_->begin_create_binding(make_binding("nope", "b1"),
                                         make_op("bop-1", OperationKind::bind, "nope", "b1")),
            BeginResult::missing);
  // Still being provisioned.
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("op-1", OperationKind::provision, "i1")),
            BeginResult::started);
  EXPECT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-2", OperationKind::bind, "i1", "b1")),
            BeginResult::missing);
  // Provision failed: idle but not ready.
  auto inst = make_instance("i1");
  inst.status = ResourceStatus::failed;
  auto op = make_op("op-1", OperationKind::provision, "i1");
  op.state = OperationState::failed;
  store_->finish_instance_operation(inst, op);
  EXPECT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-3", OperationKind::bind, "i1", "b1")),
            BeginResult::missing);
  EXPECT_FALSE(store_->get_binding("i1", "b1"));
  EXPECT_FALSE(store_->get_operation("bop-1"));
  EXPECT_FALSE(store_->get_operation("bop-3"));
}

TEST_F(SqliteStoreTest, BeginCreateBindingBusyWhileInstanceHasActiveOperation) {
  create_ready_instance("i1");
  ASSERT_EQ(store_->begin_instance_operation("i1", make_op("op-2", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::started);
  EXPECT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-1", OperationKind::bind, "i1", "b1")),
            BeginResult::busy);
  EXPECT_FALSE(store_->get_binding("i1", "b1"));
  EXPECT_FALSE(store_->get_operation("bop-1"));
}

TEST_F(SqliteStoreTest, BeginCreateBindingExistsWhenIdTakenOnThatInstance) {
  create_ready_instance("i1");
  create_ready_instance("i2");
  create_ready_binding("i1", "b1");
  auto other = make_binding("i1", "b1");
  other.app_guid = "app-2";
  EXPECT_EQ(store_->begin_create_binding(other, make_op("bop-x", OperationKind::bind, "i1", "b1")),
            BeginResult::exists);
  EXPECT_EQ(store_->get_binding("i1", "b1")->app_guid, "app-1");
  EXPECT_FALSE(store_->get_operation("bop-x"));
  // The same binding id on another instance is a different binding.
  EXPECT_EQ(store_->begin_create_binding(make_binding("i2", "b1"),
                                         make_op("bop-y", OperationKind::bind, "i2", "b1")),
            BeginResult::started);
}

TEST_F(SqliteStoreTest, BeginBindingOperationRefusals) {
  create_ready_instance("i1");
  EXPECT_EQ(store_->begin_binding_operation("i1", "nope",
                                            make_op("u0", OperationKind::unbind, "i1", "nope"),
                                            ResourceStatus::deleting),
            BeginResult::missing);
  EXPECT_EQ(store_->begin_binding_operation("nope", "b1",
                                            make_op("u1", OperationKind::unbind, "nope", "b1"),
                                            ResourceStatus::deleting),
            BeginResult::missing);

  // Binding still being created.
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1"),
                                         make_op("bop-1", OperationKind::bind, "i1", "b1")),
            BeginResult::started);
  EXPECT_EQ(
      store_->begin_binding_operation("i1", "b1", make_op("u2", OperationKind::unbind, "i1", "b1"),
                                      ResourceStatus::deleting),
      BeginResult::busy);

  // Binding idle, instance busy.
  create_ready_binding("i1", "b2");
  ASSERT_EQ(store_->begin_instance_operation("i1", make_op("op-2", OperationKind::update, "i1"),
                                             ResourceStatus::ready, false),
            BeginResult::started);
  EXPECT_EQ(
      store_->begin_binding_operation("i1", "b2", make_op("u3", OperationKind::unbind, "i1", "b2"),
                                      ResourceStatus::deleting),
      BeginResult::busy);
  EXPECT_EQ(store_->get_binding("i1", "b2")->status, ResourceStatus::ready);
  for (const char* id : {"u0", "u1", "u2", "u3"}) {
    EXPECT_FALSE(store_->get_operation(id)) << id;
  }
}

// --- operations ---------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, LatestOperationSameMillisecondResolvesToLaterInsert) {
  create_ready_instance("i1", 1000);
  auto finish = [&](const std::string& op_id) {
    auto op = store_->get_operation(op_id).value();
    op.state = OperationState::succeeded;
    store_->finish_instance_operation(store_->get_instance("i1").value(), op);
  };
  // Ids chosen so that id order disagrees with insertion order.
  for (const char* id : {"zz", "mm", "aa"}) {
    ASSERT_EQ(
        store_->begin_instance_operation("i1", make_op(id, OperationKind::update, "i1", "", 7000),
                                         ResourceStatus::ready, false),
        BeginResult::started);
    EXPECT_EQ(store_->latest_operation("i1", "")->id, id);
    finish(id);
    EXPECT_EQ(store_->latest_operation("i1", "")->id, id);
  }
  // Rewriting an older operation does not move it to the front.
  auto older = store_->get_operation("zz").value();
  older.description = "rewritten";
  store_->update_operation(older);
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "aa");
}

TEST_F(SqliteStoreTest, LatestOperationKeepsInstanceAndBindingApart) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 5000);
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "prov-i1");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bind-i1-b1");
  EXPECT_FALSE(store_->latest_operation("i1", "b2"));
  // The operation begun last, even if the clock stepped back before it began.
  ASSERT_EQ(
      store_->begin_instance_operation("i1", make_op("early", OperationKind::update, "i1", "", 500),
                                       ResourceStatus::ready, false),
      BeginResult::started);
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "early");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bind-i1-b1");
}

TEST_F(SqliteStoreTest, LatestOperationOfARemovedResourceIsTheOneThatRemovedIt) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 2000);
  auto unbind = make_op("unbind-1", OperationKind::unbind, "i1", "b1", 3000);
  ASSERT_EQ(store_->begin_binding_operation("i1", "b1", unbind, ResourceStatus::deleting),
            BeginResult::started);
  unbind.state = OperationState::succeeded;
  store_->delete_binding("i1", "b1", unbind);
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "unbind-1");

  // A refused re-create leaves the broker as it was: the removal is still the last word.
  create_ready_instance("i2", 1000);
  remove_instance("i2", "deprov-2", 3000);
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2"),
                                          make_op("prov-refused", OperationKind::provision, "i2")),
            BeginResult::started);
  EXPECT_EQ(store_->latest_operation("i2", "")->id, "prov-refused");
  store_->discard_instance("i2", "prov-refused");
  EXPECT_EQ(store_->latest_operation("i2", "")->id, "deprov-2");

  // A re-created instance answers for itself again.
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2", 4000),
                                          make_op("prov-again", OperationKind::provision, "i2")),
            BeginResult::started);
  EXPECT_EQ(store_->latest_operation("i2", "")->id, "prov-again");
  EXPECT_FALSE(store_->latest_operation("never", ""));
  EXPECT_FALSE(store_->latest_operation("i1", "never"));
}

TEST_F(SqliteStoreTest, MigrationToVersion2KeepsTheLastOperationOfResourcesRemovedBefore) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 2000);
  create_ready_instance("i2", 1000);
  remove_instance("i1", "deprov-1", 3000);
  // Back to a version 1 database as an older osbd left it: no markers, the old index.
  store_.reset();
  raw_exec(dir_.db_file(),
           "DROP TABLE removed_resources; DELETE FROM schema_migrations WHERE version = 2; "
           "CREATE INDEX operations_latest ON operations (instance_id, binding_id, "
           "created_at_ms)");
  reopen();
  EXPECT_EQ(store_->schema_version(), 2);
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "deprov-1");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bind-i1-b1");
  EXPECT_EQ(store_->latest_operation("i2", "")->id, "prov-i2");
  EXPECT_EQ(raw_query(dir_.db_file(), "SELECT COUNT(*) FROM removed_resources"), "2");
  EXPECT_EQ(raw_query(dir_.db_file(),
                      "SELECT COUNT(*) FROM sqlite_master WHERE name = 'operations_latest'"),
            "0");
}

TEST_F(SqliteStoreTest, UpdateOperationRewritesProgress) {
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("op-1", OperationKind::provision, "i1")),
            BeginResult::started);
  auto op = store_->get_operation("op-1").value();
  op.plugin_operation = "plugin-token-7";
  op.attempts = 3;
  op.description = "waiting for the cluster";
  op.updated_at_ms = 9000;
  op.deadline_ms = 99000;
  store_->update_operation(op);
  const auto got = store_->get_operation("op-1").value();
  EXPECT_EQ(got.plugin_operation, "plugin-token-7");
  EXPECT_EQ(got.attempts, 3);
  EXPECT_EQ(got.description, "waiting for the cluster");
  EXPECT_EQ(got.updated_at_ms, 9000);
  EXPECT_EQ(got.deadline_ms, 99000);
  EXPECT_EQ(got.state, OperationState::in_progress);
  EXPECT_EQ(store_->get_instance("i1")->active_operation, "op-1");
}

TEST_F(SqliteStoreTest, ListUnfinishedOperationsOldestFirst) {
  create_ready_instance("i1", 100);
  ASSERT_EQ(store_->begin_create_instance(make_instance("i3", 300),
                                          make_op("p3", OperationKind::provision, "i3", "", 300)),
            BeginResult::started);
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2", 200),
                                          make_op("p2", OperationKind::provision, "i2", "", 200)),
            BeginResult::started);
  ASSERT_EQ(store_->begin_create_binding(make_binding("i1", "b1", 250),
                                         make_op("b1", OperationKind::bind, "i1", "b1", 250)),
            BeginResult::started);
  const auto ops = store_->list_unfinished_operations();
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].id, "p2");
  EXPECT_EQ(ops[1].id, "b1");
  EXPECT_EQ(ops[1].binding_id, "b1");
  EXPECT_EQ(ops[2].id, "p3");
}

TEST_F(SqliteStoreTest, ListsAreOldestFirst) {
  create_ready_instance("c", 300);
  create_ready_instance("a", 100);
  create_ready_instance("b", 200);
  create_ready_instance("z", 200);  // same millisecond as b, inserted later
  const auto instances = store_->list_instances();
  ASSERT_EQ(instances.size(), 4u);
  EXPECT_EQ(instances[0].id, "a");
  EXPECT_EQ(instances[1].id, "b");
  EXPECT_EQ(instances[2].id, "z");
  EXPECT_EQ(instances[3].id, "c");
  create_ready_binding("a", "y", 900);
  create_ready_binding("a", "x", 800);
  create_ready_binding("b", "w", 100);
  const auto bindings = store_->list_bindings("a");
  ASSERT_EQ(bindings.size(), 2u);
  EXPECT_EQ(bindings[0].id, "x");
  EXPECT_EQ(bindings[1].id, "y");
}

// --- durability and errors ----------------------------------------------------------------------

TEST_F(SqliteStoreTest, EverythingSurvivesReopen) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 2000);
  ASSERT_EQ(store_->begin_create_instance(make_instance("i2", 3000),
                                          make_op("p2", OperationKind::provision, "i2", "", 3000)),
            BeginResult::started);
  const auto i1 = store_->get_instance("i1").value();
  const auto i2 = store_->get_instance("i2").value();
  const auto b1 = store_->get_binding("i1", "b1").value();
  const auto p2 = store_->get_operation("p2").value();

  reopen();

  const auto ri1 = store_->get_instance("i1").value();
  const auto ri2 = store_->get_instance("i2").value();
  const auto rb1 = store_->get_binding("i1", "b1").value();
  const auto rp2 = store_->get_operation("p2").value();
  for (const auto& [a, b] : {std::pair{i1, ri1}, std::pair{i2, ri2}}) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.parameters, b.parameters);
    EXPECT_EQ(a.context, b.context);
    EXPECT_EQ(a.originating_identity, b.originating_identity);
    EXPECT_EQ(a.metadata, b.metadata);
    EXPECT_EQ(a.plugin_state, b.plugin_state);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.active_operation, b.active_operation);
    EXPECT_EQ(a.last_operation, b.last_operation);
    EXPECT_EQ(a.created_at_ms, b.created_at_ms);
  }
  EXPECT_EQ(rb1.response, b1.response);
  EXPECT_EQ(rb1.response["credentials"]["password"], "s3cret");
  EXPECT_EQ(rb1.status, ResourceStatus::ready);
  EXPECT_EQ(rp2.request, p2.request);
  EXPECT_EQ(rp2.state, OperationState::in_progress);
  EXPECT_EQ(store_->list_unfinished_operations().size(), 1u);
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bind-i1-b1");
  // The busy marker survives too: recovery resumes rather than racing a new operation.
  EXPECT_EQ(store_->begin_instance_operation("i2", make_op("u", OperationKind::update, "i2"),
                                             ResourceStatus::ready, false),
            BeginResult::busy);
}

TEST_F(SqliteStoreTest, FailedMethodRollsBackAndErrorHidesRowContents) {
  create_ready_instance("i1");
  // Reusing an operation id breaks the unique constraint after the instance row was written.
  auto inst = make_instance("i2");
  auto op = make_op("prov-i1", OperationKind::provision, "i2");
  op.request = {{"password", "hunter2-secret"}};
  try {
    store_->begin_create_instance(inst, op);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir_.db_file()));
    EXPECT_THAT(e.what(), HasSubstr("UNIQUE"));
    EXPECT_THAT(e.what(), Not(HasSubstr("hunter2")));
  }
  EXPECT_FALSE(store_->get_instance("i2"));
  // The connection is usable afterwards.
  create_ready_instance("i3");
  EXPECT_TRUE(store_->get_instance("i3"));
}

TEST_F(SqliteStoreTest, CorruptJsonIsReportedWithoutItsContents) {
  create_ready_instance("i1");
  create_ready_binding("i1", "b1");
  raw_exec(dir_.db_file(), "UPDATE bindings SET response = '{\"password\": \"topsecret'");
  try {
    store_->get_binding("i1", "b1");
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir_.db_file()));
    EXPECT_THAT(e.what(), HasSubstr("bindings.response"));
    EXPECT_THAT(e.what(), Not(HasSubstr("topsecret")));
  }
}

TEST_F(SqliteStoreTest, UnencodableJsonIsRefusedWithoutItsContents) {
  auto inst = make_instance("i1");
  inst.parameters = {{"k", std::string("secret\xff\xfe")}};
  try {
    store_->begin_create_instance(inst, make_op("op-1", OperationKind::provision, "i1"));
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("instances.parameters"));
    EXPECT_THAT(e.what(), Not(HasSubstr("secret")));
  }
  EXPECT_FALSE(store_->get_instance("i1"));
}

}  // namespace
}  // namespace osbd::state

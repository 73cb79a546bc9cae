// What only the SQLite store has: its files and their modes, WAL, the data directory, its
// migrations and what its database file holds. Everything the Store interface promises is tested
// for every backend in store_test.cpp.

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
  EXPECT_EQ(store_->schema_version(), 4);
  reopen();
  EXPECT_EQ(store_->schema_version(), 4);
  EXPECT_EQ(raw_query(dir_.db_file(), "SELECT COUNT(*) FROM schema_migrations"), "4");
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
    EXPECT_THAT(e.what(), HasSubstr("(version 4)"));
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

TEST_F(SqliteStoreTest, JsonNullIsSqlNullInTheFile) {
  auto inst = make_instance("inst-1");
  inst.parameters = nullptr;
  inst.context = nlohmann::json::object();
  ASSERT_EQ(
      store_->begin_create_instance(inst, make_op("op-1", OperationKind::provision, "inst-1")),
      BeginResult::started);
  // JSON null is SQL NULL in the file, never the text "null"; an empty object stays "{}".
  EXPECT_EQ(raw_query(dir_.db_file(), "SELECT COUNT(*) FROM instances WHERE parameters IS NULL"),
            "1");
  EXPECT_EQ(raw_query(dir_.db_file(), "SELECT context FROM instances"), "{}");
}

// --- migrations ---------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, MigrationToVersion2KeepsTheLastOperationOfResourcesRemovedBefore) {
  create_ready_instance("i1", 1000);
  create_ready_binding("i1", "b1", 2000);
  create_ready_instance("i2", 1000);
  remove_instance("i1", "deprov-1", 3000);
  // Back to a version 1 database as an older osbd left it: no markers, the old index, and
  // nothing of versions 3 and 4.
  store_.reset();
  raw_exec(dir_.db_file(),
           "DROP TABLE usage_events; DROP TABLE usage_series; DROP TABLE usage_samples; "
           "DROP TABLE replicas; ALTER TABLE operations DROP COLUMN owner; "
           "DROP TABLE removed_resources; DELETE FROM schema_migrations WHERE version >= 2; "
           "CREATE INDEX operations_latest ON operations (instance_id, binding_id, "
           "created_at_ms)");
  reopen();
  EXPECT_EQ(store_->schema_version(), 4);
  EXPECT_EQ(store_->latest_operation("i1", "")->id, "deprov-1");
  EXPECT_EQ(store_->latest_operation("i1", "b1")->id, "bind-i1-b1");
  EXPECT_EQ(store_->latest_operation("i2", "")->id, "prov-i2");
  EXPECT_EQ(raw_query(dir_.db_file(), "SELECT COUNT(*) FROM removed_resources"), "2");
  EXPECT_EQ(raw_query(dir_.db_file(),
                      "SELECT COUNT(*) FROM sqlite_master WHERE name = 'operations_latest'"),
            "0");
}

TEST_F(SqliteStoreTest, MigrationToVersion3LeavesEarlierOperationsToAnyReplica) {
  ASSERT_EQ(store_->begin_create_instance(make_instance("i1"),
                                          make_op("op-1", OperationKind::provision, "i1")),
            BeginResult::started);
  // Back to a version 2 database: no owners, no replicas, no usage history.
  store_.reset();
  raw_exec(dir_.db_file(),
           "DROP TABLE usage_events; DROP TABLE usage_series; DROP TABLE usage_samples; "
           "DROP TABLE replicas; ALTER TABLE operations DROP COLUMN owner; "
           "DELETE FROM schema_migrations WHERE version >= 3");
  reopen();
  EXPECT_EQ(store_->schema_version(), 4);
  EXPECT_EQ(store_->get_operation("op-1")->owner, "");
  EXPECT_TRUE(store_->list_replicas().empty());
  EXPECT_TRUE(store_->take_operation("op-1", "replica-a", 0));
  EXPECT_EQ(store_->get_operation("op-1")->owner, "replica-a");
}

TEST_F(SqliteStoreTest, MigrationToVersion4SeedsACreatedEventForEveryExistingInstance) {
  auto cf = make_instance("cf", 1000);
  cf.organization_guid = "org-1";
  cf.space_guid = "space-1";
  auto k8s = make_instance("k8s", 2000);
  k8s.organization_guid = "";
  k8s.space_guid = "";
  k8s.context = {{"platform", "kubernetes"}, {"namespace", "team-x"}};
  auto ctx = make_instance("ctx", 3000);
  ctx.organization_guid = "";
  ctx.space_guid = "";
  ctx.context = {{"organization_guid", ""}, {"namespace", 7}, {"space_guid", "s-2"}};
  auto pending = make_instance("pending", 4000);
  for (auto* inst : {&cf, &k8s, &ctx, &pending}) {
    auto op = make_op("prov-" + inst->id, OperationKind::provision, inst->id, "", 1000);
    ASSERT_EQ(store_->begin_create_instance(*inst, op), BeginResult::started);
    if (inst != &pending) {
      inst->status = ResourceStatus::ready;
      op.state = OperationState::succeeded;
      store_->finish_instance_operation(*inst, op);
    }
  }
  // A failed provision: never usable, never billed.
  auto broken = make_instance("broken", 5000);
  auto broken_op = make_op("prov-broken", OperationKind::provision, "broken", "", 5000);
  ASSERT_EQ(store_->begin_create_instance(broken, broken_op), BeginResult::started);
  broken.status = ResourceStatus::failed;
  broken_op.state = OperationState::failed;
  store_->finish_instance_operation(broken, broken_op);
  // Back to a version 3 database, then upgraded: "pending" is still being created and "broken"
  // failed, so neither gets an event.
  store_.reset();
  raw_exec(dir_.db_file(),
           "DROP TABLE usage_events; DROP TABLE usage_series; DROP TABLE usage_samples; "
           "DELETE FROM schema_migrations WHERE version = 4");
  reopen();
  const auto events = store_->list_usage_events(INT64_MAX);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].instance_id, "cf");
  EXPECT_EQ(events[0].at_ms, 1000);
  EXPECT_EQ(events[0].kind, UsageEventKind::created);
  EXPECT_EQ(events[0].organization, "org-1");
  EXPECT_EQ(events[0].space, "space-1");
  EXPECT_EQ(events[0].plan_id, cf.plan_id);
  EXPECT_EQ(events[1].instance_id, "k8s");
  EXPECT_EQ(events[1].at_ms, 2000);
  EXPECT_EQ(events[1].organization, "team-x");
  EXPECT_EQ(events[1].space, "team-x");
  // An empty organization guid counts as none, and a namespace that is not a string too: the
  // same owner as usage_event_of gives.
  EXPECT_EQ(events[2].instance_id, "ctx");
  EXPECT_EQ(events[2].organization, owner_key(ctx));
  EXPECT_EQ(events[2].organization, "");
  EXPECT_EQ(events[2].space, "s-2");
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

TEST_F(SqliteStoreTest, BindingCredentialsNeverReachTheFilesAndTheKeyIsOwnerOnly) {
  create_ready_instance("i1");
  create_ready_binding("i1", "b1");
  EXPECT_EQ(store_->get_binding("i1", "b1")->response["credentials"]["password"], "s3cret");
  EXPECT_EQ(all_file_bytes(dir_.db_file()).find("s3cret"), std::string::npos);
  // Without a key_file the store makes its own in the data directory.
  EXPECT_EQ(mode_of(dir_.data_dir() + "/credentials.key"), 0600u);
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

// --- errors -------------------------------------------------------------------------------------

TEST_F(SqliteStoreTest, FailedMethodErrorNamesTheFileAndTheConstraint) {
  create_ready_instance("i1");
  auto op = make_op("prov-i1", OperationKind::provision, "i2");
  op.request = {{"password", "hunter2-secret"}};
  try {
    store_->begin_create_instance(make_instance("i2"), op);
    FAIL() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir_.db_file()));
    EXPECT_THAT(e.what(), HasSubstr("UNIQUE"));
    EXPECT_THAT(e.what(), Not(HasSubstr("hunter2")));
  }
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

}  // namespace
}  // namespace osbd::state

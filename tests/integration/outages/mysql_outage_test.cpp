// The MySQL plugin through osbd while its MariaDB server goes down: before a call (osbd answers
// 502 with a retriable description and records nothing), and in the middle of one (a statement
// of the plugin waits on a table lock held by the test while the test kills mariadbd). After the
// server is back, the same request converges and deprovision leaves no database, user or
// bookkeeping row of the instance.

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "outage_support.hpp"
#include "plugin_fixture.hpp"

namespace osbd_mysql_test {
namespace {

using nlohmann::json;

/// The MariaDB server of the outage tests (port OSBD_MYSQL_OUTAGE_PORT, default 23307).
struct MysqlOutageSuite : MysqlSuite {
  static Env env() {
    return osbd_outage_test::on_outage_port(mysql_env(), "OSBD_MYSQL_OUTAGE_PORT", "23307");
  }
  static const char* env_variable() { return "OSBD_MYSQL_HOST"; }
  static const char* backend_name() { return "MySQL server"; }
};

/// An admin session of the test holding `LOCK TABLES table WRITE` until the server stops, so
/// that the plugin's statement starting with statement, which needs the table, waits.
class TableLock : public osbd_outage_test::LockHold {
 public:
  TableLock(const MysqlEnv& env, const std::string& table, const std::string& statement)
      : LockHold(statement), env_(env), connection_(admin(env)) {
    exec(*connection_, "LOCK TABLES " + table + " WRITE");
  }

 protected:
  bool statement_waits() override {
    return admin_strings(env_,
                         "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                         "WHERE ID <> CONNECTION_ID() AND STATE LIKE 'Waiting for %lock' "
                         "AND LEFT(INFO, CHAR_LENGTH(?)) = ?",
                         {point(), point()})
               .at(0) != "0";
  }

 private:
  MysqlEnv env_;
  std::unique_ptr<sql::Connection> connection_;
};

class MysqlOutage : public osbd_outage_test::OutageTest<MysqlOutageSuite> {
 protected:
  json osbd_config() override {
    return osbd_outage_test::without_quota_check(test_config(env_, prefix_));
  }

  /// The instance databases of this test (the bookkeeping database left out).
  std::size_t instances() override {
    std::size_t count = 0;
    for (const std::string& database : databases_with_prefix(env_, prefix_)) {
      if (database != prefix_ + "meta") {
        ++count;
      }
    }
    return count;
  }
  std::size_t accounts() override { return users_with_prefix(env_, prefix_).size(); }
  std::size_t owner_accounts() const override { return 0; }  // an instance has no user
  bool works(const json& credentials) override { return can_login(credentials); }

  void expect_nothing_left() override {
    OutageTest::expect_nothing_left();
    EXPECT_EQ(recorded_instances(), 0u);
  }

  /// The plugin's bookkeeping table.
  std::string meta_table() const { return "`" + prefix_ + "meta`.instances"; }

  /// Rows of the bookkeeping table (0 when it does not exist).
  std::size_t recorded_instances() {
    if (databases_with_prefix(env_, prefix_ + "meta").empty()) {
      return 0;
    }
    return std::stoul(admin_strings(env_, "SELECT COUNT(*) FROM " + meta_table()).at(0));
  }

  /// A hold of the plugin's statement starting with statement on a lock of table.
  TableLock lock(const std::string& table, const std::string& statement) {
    return TableLock(env_, table, statement);
  }
};

TEST_F(MysqlOutage, ProvisionWhileDownIs502ThenSucceeds) {
  provision_while_down();
}
TEST_F(MysqlOutage, BindWhileDownIs502ThenSucceeds) {
  bind_while_down();
}
TEST_F(MysqlOutage, UnbindWhileDownIs502ThenSucceeds) {
  unbind_while_down();
}
TEST_F(MysqlOutage, DeprovisionWhileDownIs502ThenSucceeds) {
  deprovision_while_down();
}

TEST_F(MysqlOutage, StoppedDuringProvisionThenRetryConverges) {
  // The bookkeeping table exists (made by a first instance); recording the second one waits on
  // its database's lock when the server stops.
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-0"));
  ASSERT_NO_FATAL_FAILURE(
      create_cut(lock(meta_table(), "CREATE DATABASE"), instance("i-1"), provision_body()));
  EXPECT_EQ(instances(), 1u);  // the first instance's only
  mitigate_orphan(instance("i-1"));
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  EXPECT_EQ(instances(), 2u);
  EXPECT_EQ(recorded_instances(), 2u);
  EXPECT_EQ(remove(instance("i-0")).status, 200u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(MysqlOutage, StoppedDuringBindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // Making the binding's user waits on the grant table mysql.db when the server stops.
  ASSERT_NO_FATAL_FAILURE(
      create_cut(lock("mysql.db", "CREATE USER"), binding("i-1", "b-1"), bind_body()));
  expect_bind_converges("i-1", "b-1");
}

TEST_F(MysqlOutage, StoppedDuringUnbindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  const json credentials = bind_ok("i-1", "b-1");
  // Dropping the user waits on the grant table mysql.db when the server stops.
  ASSERT_NO_FATAL_FAILURE(delete_cut(lock("mysql.db", "DROP USER"), binding("i-1", "b-1")));
  expect_unbind_converges("i-1", "b-1", credentials);
}

TEST_F(MysqlOutage, StoppedDuringDeprovisionThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // The database is dropped; forgetting its bookkeeping row waits when the server stops.
  ASSERT_NO_FATAL_FAILURE(delete_cut(lock(meta_table(), "DELETE"), instance("i-1")));
  EXPECT_EQ(recorded_instances(), 1u);  // half-done: the row is still there
  remove_and_expect_nothing_left("i-1");
}

}  // namespace
}  // namespace osbd_mysql_test

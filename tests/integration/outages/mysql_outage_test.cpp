// The MySQL plugin through osbd while its MariaDB server goes down: before a call (osbd answers
// 502 with a retriable description and records nothing), and in the middle of one (a statement
// of the plugin waits on a table lock held by the test while the test kills mariadbd). After the
// server is back, the same request converges and deprovision leaves no database, user or
// bookkeeping row of the instance.

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "outage_support.hpp"
#include "plugin_fixture.hpp"

namespace osbd_mysql_test {
namespace {

using nlohmann::json;
using osbd_outage_test::expect_retriable_backend_error;
namespace http = boost::beast::http;

/// The MariaDB server of the outage tests (port OSBD_MYSQL_OUTAGE_PORT, default 23307).
struct MysqlOutageSuite : MysqlSuite {
  static Env env() {
    MysqlEnv env = mysql_env();
    env.port = std::stoi(env_or("OSBD_MYSQL_OUTAGE_PORT", "23307"));
    return env;
  }
  static const char* env_variable() { return "OSBD_MYSQL_HOST"; }
};

/// An admin session of the test holding `LOCK TABLES table WRITE` until the server stops, so
/// that the plugin's statement that needs the table waits.
class TableLock {
 public:
  TableLock(const MysqlEnv& env, const std::string& table) : connection_(admin(env)) {
    exec(*connection_, "LOCK TABLES " + table + " WRITE");
  }

 private:
  std::unique_ptr<sql::Connection> connection_;
};

/// What a platform sees of the plugin: the description names the server.
constexpr const char* kBackend = "MySQL server";

class MysqlOutage : public osbd_outage_test::OutageTest<MysqlOutageSuite> {
 protected:
  json osbd_config() override {
    json config = test_config(env_, prefix_);
    config["quota_check_seconds"] = 86400;  // no quota check in the way of the table locks
    return config;
  }

  /// The plugin's bookkeeping table.
  std::string meta_table() const { return "`" + prefix_ + "meta`.instances"; }

  /// Whether a statement of another session starting with statement waits for a lock
  /// (within 30 s).
  bool plugin_waits_at(const std::string& statement) {
    return osbd_plugin_test::eventually(
        [&] {
          return admin_strings(env_,
                               "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                               "WHERE ID <> CONNECTION_ID() AND STATE LIKE 'Waiting for %lock' "
                               "AND LEFT(INFO, CHAR_LENGTH(?)) = ?",
                               {statement, statement})
                     .at(0) != "0";
        },
        std::chrono::seconds(30));
  }

  /// Calls osbd while the plugin's statement starting with statement waits on table, kills the
  /// server then, and returns osbd's answer.
  osbd::test::HttpResult cut_at(const std::string& table, const std::string& statement,
                                http::verb method, const std::string& target,
                                const json& body = nullptr) {
    TableLock lock(env_, table);
    Answer pending = call_async(method, target, body);
    EXPECT_TRUE(plugin_waits_at(statement)) << "the plugin never waited at " << statement;
    EXPECT_TRUE(halt());
    return answer_of(pending);
  }

  void provision_ok(const std::string& iid) {
    auto answer = call(http::verb::put, instance(iid), provision_body());
    ASSERT_EQ(answer.status, 201u) << answer.body;
  }

  json bind_ok(const std::string& iid, const std::string& bid) {
    auto answer = call(http::verb::put, binding(iid, bid), bind_body());
    EXPECT_EQ(answer.status, 201u) << answer.body;
    return answer.json().value("credentials", json::object());
  }

  /// The instance databases of this test (the bookkeeping database left out).
  std::vector<std::string> instance_databases() {
    std::vector<std::string> out;
    for (const std::string& database : databases_with_prefix(env_, prefix_)) {
      if (database != prefix_ + "meta") {
        out.push_back(database);
      }
    }
    return out;
  }

  /// Rows of the bookkeeping table (0 when it does not exist).
  std::size_t recorded_instances() {
    if (databases_with_prefix(env_, prefix_ + "meta").empty()) {
      return 0;
    }
    return std::stoul(admin_strings(env_, "SELECT COUNT(*) FROM " + meta_table()).at(0));
  }

  /// Unbinds (when bid is not empty) and deprovisions iid, then expects no database, no user
  /// and no bookkeeping row of this test left on the server.
  void remove_and_expect_nothing_left(const std::string& iid, const std::string& bid = "") {
    if (!bid.empty()) {
      auto unbound = call(http::verb::delete_, binding(iid, bid) + query());
      EXPECT_EQ(unbound.status, 200u) << unbound.body;
    }
    auto deleted = call(http::verb::delete_, instance(iid) + query());
    EXPECT_EQ(deleted.status, 200u) << deleted.body;
    EXPECT_TRUE(instance_databases().empty());
    EXPECT_TRUE(users_with_prefix(env_, prefix_).empty());
    EXPECT_EQ(recorded_instances(), 0u);
  }
};

TEST_F(MysqlOutage, ProvisionWhileDownIs502ThenSucceeds) {
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::put, instance("i-1"), provision_body()),
                                 kBackend);
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 404u);
  ASSERT_TRUE(resume());
  EXPECT_TRUE(instance_databases().empty());
  EXPECT_EQ(recorded_instances(), 0u);
  mitigate_orphan(instance("i-1"));
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  EXPECT_EQ(instance_databases().size(), 1u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(MysqlOutage, BindWhileDownIs502ThenSucceeds) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::put, binding("i-1", "b-1"), bind_body()),
                                 kBackend);
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 404u);
  ASSERT_TRUE(resume());
  EXPECT_TRUE(users_with_prefix(env_, prefix_).empty());
  mitigate_orphan(binding("i-1", "b-1"));
  EXPECT_TRUE(can_login(bind_ok("i-1", "b-1")));
  remove_and_expect_nothing_left("i-1", "b-1");
}

TEST_F(MysqlOutage, UnbindWhileDownIs502ThenSucceeds) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  const json credentials = bind_ok("i-1", "b-1");
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::delete_, binding("i-1", "b-1") + query()),
                                 kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 200u);
  EXPECT_TRUE(can_login(credentials));
  EXPECT_EQ(call(http::verb::delete_, binding("i-1", "b-1") + query()).status, 200u);
  EXPECT_FALSE(can_login(credentials));
  remove_and_expect_nothing_left("i-1");
}

TEST_F(MysqlOutage, DeprovisionWhileDownIs502ThenSucceeds) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::delete_, instance("i-1") + query()), kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 200u);
  EXPECT_EQ(instance_databases().size(), 1u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(MysqlOutage, StoppedDuringProvisionThenRetryConverges) {
  // The bookkeeping table exists (made by a first instance); recording the second one waits on
  // its database's lock when the server stops.
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-0"));
  expect_retriable_backend_error(
      cut_at(meta_table(), "CREATE DATABASE", http::verb::put, instance("i-1"), provision_body()),
      kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 404u);
  EXPECT_EQ(instance_databases().size(), 1u);
  mitigate_orphan(instance("i-1"));
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  EXPECT_EQ(instance_databases().size(), 2u);
  EXPECT_EQ(recorded_instances(), 2u);
  EXPECT_EQ(call(http::verb::delete_, instance("i-0") + query()).status, 200u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(MysqlOutage, StoppedDuringBindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // Making the binding's user waits on the grant table mysql.db when the server stops.
  expect_retriable_backend_error(
      cut_at("mysql.db", "CREATE USER", http::verb::put, binding("i-1", "b-1"), bind_body()),
      kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 404u);
  mitigate_orphan(binding("i-1", "b-1"));
  EXPECT_TRUE(can_login(bind_ok("i-1", "b-1")));
  remove_and_expect_nothing_left("i-1", "b-1");
}

TEST_F(MysqlOutage, StoppedDuringUnbindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  const json credentials = bind_ok("i-1", "b-1");
  // Dropping the user waits on the grant table mysql.db when the server stops.
  expect_retriable_backend_error(
      cut_at("mysql.db", "DROP USER", http::verb::delete_, binding("i-1", "b-1") + query()),
      kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 200u);
  EXPECT_EQ(call(http::verb::delete_, binding("i-1", "b-1") + query()).status, 200u);
  EXPECT_FALSE(can_login(credentials));
  remove_and_expect_nothing_left("i-1");
}

TEST_F(MysqlOutage, StoppedDuringDeprovisionThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // The database is dropped; forgetting its bookkeeping row waits when the server stops.
  expect_retriable_backend_error(
      cut_at(meta_table(), "DELETE", http::verb::delete_, instance("i-1") + query()), kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 200u);
  EXPECT_EQ(recorded_instances(), 1u);  // half-done: the row is still there
  remove_and_expect_nothing_left("i-1");
}

}  // namespace
}  // namespace osbd_mysql_test

// The PostgreSQL plugin through osbd while its server goes down: before a call (osbd answers 502
// with a retriable description and records nothing), and in the middle of one (a statement of
// the plugin waits on a catalog lock held by the test while the test stops the server). After
// the server is back, the same request converges and deprovision leaves no database or role.

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "outage_support.hpp"
#include "plugin_fixture.hpp"

namespace osbd_pg_test {
namespace {

using nlohmann::json;
using osbd_outage_test::expect_retriable_backend_error;
namespace http = boost::beast::http;

/// The PostgreSQL server of the outage tests (port OSBD_PG_OUTAGE_PORT, default 25434).
struct PgOutageSuite : PgSuite {
  static Env env() {
    PgEnv env = pg_env();
    env.port = std::stoi(env_or("OSBD_PG_OUTAGE_PORT", "25434"));
    return env;
  }
  static const char* env_variable() { return "OSBD_PG_HOST"; }
};

/// An admin session of the test holding an ACCESS EXCLUSIVE lock on a system catalog until the
/// server stops, so that the plugin's statement that needs the catalog waits.
class CatalogLock {
 public:
  CatalogLock(const PgEnv& env, const std::string& catalog) : connection_(admin_conninfo(env)) {
    pqxx::nontransaction tx(connection_);
    tx.exec("BEGIN");
    tx.exec("LOCK TABLE pg_catalog." + catalog + " IN ACCESS EXCLUSIVE MODE");
  }

 private:
  pqxx::connection connection_;
};

/// What a platform sees of the plugin: the description names the server.
constexpr const char* kBackend = "PostgreSQL server";

class PostgresqlOutage : public osbd_outage_test::OutageTest<PgOutageSuite> {
 protected:
  json osbd_config() override {
    json config = test_config(env_, prefix_);
    config["quota_check_seconds"] = 86400;  // no quota check in the way of the catalog locks
    return config;
  }

  /// Whether a statement of the plugin starting with statement waits for a lock (within 30 s).
  bool plugin_waits_at(const std::string& statement) {
    return osbd_plugin_test::eventually(
        [&] {
          return admin_strings(env_,
                               "SELECT count(*)::text FROM pg_stat_get_activity(NULL) s "
                               "WHERE s.application_name = 'osbd-postgresql' AND "
                               "s.wait_event_type = 'Lock' AND left(s.query, length($1)) = $1",
                               statement)
                     .at(0) != "0";
        },
        std::chrono::seconds(30));
  }

  /// Calls osbd while the plugin's statement starting with statement waits on catalog, stops
  /// the server then, and returns osbd's answer.
  osbd::test::HttpResult cut_at(const std::string& catalog, const std::string& statement,
                                http::verb method, const std::string& target,
                                const json& body = nullptr) {
    CatalogLock lock(env_, catalog);
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

  /// Unbinds (when bid is not empty) and deprovisions iid, then expects no database and no
  /// role of this test left on the server.
  void remove_and_expect_nothing_left(const std::string& iid, const std::string& bid = "") {
    if (!bid.empty()) {
      auto unbound = call(http::verb::delete_, binding(iid, bid) + query());
      EXPECT_EQ(unbound.status, 200u) << unbound.body;
    }
    auto deleted = call(http::verb::delete_, instance(iid) + query());
    EXPECT_EQ(deleted.status, 200u) << deleted.body;
    EXPECT_TRUE(databases_with_prefix(env_, prefix_).empty());
    EXPECT_TRUE(roles_with_prefix(env_, prefix_).empty());
  }
};

TEST_F(PostgresqlOutage, ProvisionWhileDownIs502ThenSucceeds) {
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::put, instance("i-1"), provision_body()),
                                 kBackend);
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 404u);
  ASSERT_TRUE(resume());
  EXPECT_TRUE(databases_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(roles_with_prefix(env_, prefix_).empty());
  mitigate_orphan(instance("i-1"));
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  EXPECT_EQ(databases_with_prefix(env_, prefix_).size(), 1u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(PostgresqlOutage, BindWhileDownIs502ThenSucceeds) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::put, binding("i-1", "b-1"), bind_body()),
                                 kBackend);
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 404u);
  ASSERT_TRUE(resume());
  EXPECT_EQ(roles_with_prefix(env_, prefix_).size(), 1u);  // the owner role only
  mitigate_orphan(binding("i-1", "b-1"));
  EXPECT_TRUE(can_login(bind_ok("i-1", "b-1")));
  remove_and_expect_nothing_left("i-1", "b-1");
}

TEST_F(PostgresqlOutage, UnbindWhileDownIs502ThenSucceeds) {
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

TEST_F(PostgresqlOutage, DeprovisionWhileDownIs502ThenSucceeds) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  ASSERT_TRUE(halt());
  expect_retriable_backend_error(call(http::verb::delete_, instance("i-1") + query()), kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 200u);
  EXPECT_EQ(databases_with_prefix(env_, prefix_).size(), 1u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(PostgresqlOutage, StoppedDuringProvisionThenRetryConverges) {
  // The owner role is made; its comment waits on pg_shdescription when the server stops.
  expect_retriable_backend_error(cut_at("pg_shdescription", "COMMENT ON ROLE", http::verb::put,
                                        instance("i-1"), provision_body()),
                                 kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 404u);
  EXPECT_EQ(roles_with_prefix(env_, prefix_).size(), 1u);  // half-created: the owner role
  EXPECT_TRUE(databases_with_prefix(env_, prefix_).empty());
  mitigate_orphan(instance("i-1"));
  EXPECT_TRUE(roles_with_prefix(env_, prefix_).empty());
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  EXPECT_EQ(databases_with_prefix(env_, prefix_).size(), 1u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(PostgresqlOutage, StoppedDuringBindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // The binding's role is made; its GRANT waits on pg_auth_members when the server stops.
  expect_retriable_backend_error(
      cut_at("pg_auth_members", "GRANT", http::verb::put, binding("i-1", "b-1"), bind_body()),
      kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 404u);
  EXPECT_EQ(roles_with_prefix(env_, prefix_).size(), 2u);  // half-created: owner and binding
  mitigate_orphan(binding("i-1", "b-1"));
  EXPECT_EQ(roles_with_prefix(env_, prefix_).size(), 1u);
  EXPECT_TRUE(can_login(bind_ok("i-1", "b-1")));
  remove_and_expect_nothing_left("i-1", "b-1");
}

TEST_F(PostgresqlOutage, StoppedDuringUnbindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  const json credentials = bind_ok("i-1", "b-1");
  // The role can no longer log in; REASSIGN OWNED waits on pg_shdepend when the server stops.
  expect_retriable_backend_error(
      cut_at("pg_shdepend", "REASSIGN OWNED", http::verb::delete_, binding("i-1", "b-1") + query()),
      kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, binding("i-1", "b-1")).status, 200u);
  EXPECT_FALSE(can_login(credentials));  // half-done, but the credentials work no more
  EXPECT_EQ(call(http::verb::delete_, binding("i-1", "b-1") + query()).status, 200u);
  EXPECT_EQ(roles_with_prefix(env_, prefix_).size(), 1u);
  remove_and_expect_nothing_left("i-1");
}

TEST_F(PostgresqlOutage, StoppedDuringDeprovisionThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // DROP DATABASE waits on pg_shdepend when the server stops.
  expect_retriable_backend_error(
      cut_at("pg_shdepend", "DROP DATABASE", http::verb::delete_, instance("i-1") + query()),
      kBackend);
  ASSERT_TRUE(resume());
  EXPECT_EQ(call(http::verb::get, instance("i-1")).status, 200u);
  remove_and_expect_nothing_left("i-1");
}

}  // namespace
}  // namespace osbd_pg_test

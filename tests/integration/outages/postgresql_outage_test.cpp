// The PostgreSQL plugin through osbd while its server goes down: before a call (osbd answers 502
// with a retriable description and records nothing), and in the middle of one (a statement of
// the plugin waits on a catalog lock held by the test while the test stops the server). After
// the server is back, the same request converges and deprovision leaves no database or role.

#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "outage_support.hpp"
#include "plugin_fixture.hpp"

namespace osbd_pg_test {
namespace {

using nlohmann::json;

/// The PostgreSQL server of the outage tests (port OSBD_PG_OUTAGE_PORT, default 25434).
struct PgOutageSuite : PgSuite {
  static Env env() {
    return osbd_outage_test::on_outage_port(pg_env(), "OSBD_PG_OUTAGE_PORT", "25434");
  }
  static const char* env_variable() { return "OSBD_PG_HOST"; }
  static const char* backend_name() { return "PostgreSQL server"; }
};

/// An admin session of the test holding an ACCESS EXCLUSIVE lock on a system catalog until the
/// server stops, so that the plugin's statement starting with statement, which needs the
/// catalog, waits.
class CatalogLock : public osbd_outage_test::LockHold {
 public:
  CatalogLock(const PgEnv& env, const std::string& catalog, const std::string& statement)
      : LockHold(statement), env_(env), connection_(admin_conninfo(env)) {
    pqxx::nontransaction tx(connection_);
    tx.exec("BEGIN");
    tx.exec("LOCK TABLE pg_catalog." + catalog + " IN ACCESS EXCLUSIVE MODE");
  }

 protected:
  bool statement_waits() override {
    return admin_strings(env_,
                         "SELECT count(*)::text FROM pg_stat_get_activity(NULL) s "
                         "WHERE s.application_name = 'osbd-postgresql' AND "
                         "s.wait_event_type = 'Lock' AND left(s.query, length($1)) = $1",
                         point())
               .at(0) != "0";
  }

 private:
  PgEnv env_;
  pqxx::connection connection_;
};

class PostgresqlOutage : public osbd_outage_test::OutageTest<PgOutageSuite> {
 protected:
  json osbd_config() override {
    return osbd_outage_test::without_quota_check(test_config(env_, prefix_));
  }

  std::size_t instances() override { return databases_with_prefix(env_, prefix_).size(); }
  std::size_t accounts() override { return roles_with_prefix(env_, prefix_).size(); }
  std::size_t owner_accounts() const override { return 1; }  // the owner role
  bool works(const json& credentials) override { return can_login(credentials); }

  /// A hold of the plugin's statement starting with statement on a lock of catalog.
  CatalogLock lock(const std::string& catalog, const std::string& statement) {
    return CatalogLock(env_, catalog, statement);
  }
};

TEST_F(PostgresqlOutage, ProvisionWhileDownIs502ThenSucceeds) {
  provision_while_down();
}
TEST_F(PostgresqlOutage, BindWhileDownIs502ThenSucceeds) {
  bind_while_down();
}
TEST_F(PostgresqlOutage, UnbindWhileDownIs502ThenSucceeds) {
  unbind_while_down();
}
TEST_F(PostgresqlOutage, DeprovisionWhileDownIs502ThenSucceeds) {
  deprovision_while_down();
}

TEST_F(PostgresqlOutage, StoppedDuringProvisionThenRetryConverges) {
  // The owner role is made; its comment waits on pg_shdescription when the server stops.
  ASSERT_NO_FATAL_FAILURE(
      create_cut(lock("pg_shdescription", "COMMENT ON ROLE"), instance("i-1"), provision_body()));
  EXPECT_EQ(accounts(), 1u);  // half-created: the owner role
  EXPECT_EQ(instances(), 0u);
  expect_provision_converges("i-1");
}

TEST_F(PostgresqlOutage, StoppedDuringBindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // The binding's role is made; its GRANT waits on pg_auth_members when the server stops.
  ASSERT_NO_FATAL_FAILURE(
      create_cut(lock("pg_auth_members", "GRANT"), binding("i-1", "b-1"), bind_body()));
  EXPECT_EQ(accounts(), 2u);  // half-created: owner and binding
  expect_bind_converges("i-1", "b-1");
}

TEST_F(PostgresqlOutage, StoppedDuringUnbindThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  const json credentials = bind_ok("i-1", "b-1");
  // The role can no longer log in; REASSIGN OWNED waits on pg_shdepend when the server stops.
  ASSERT_NO_FATAL_FAILURE(delete_cut(lock("pg_shdepend", "REASSIGN OWNED"), binding("i-1", "b-1")));
  EXPECT_FALSE(works(credentials));  // half-done, but the credentials work no more
  expect_unbind_converges("i-1", "b-1", credentials);
}

TEST_F(PostgresqlOutage, StoppedDuringDeprovisionThenRetryConverges) {
  ASSERT_NO_FATAL_FAILURE(provision_ok("i-1"));
  // DROP DATABASE waits on pg_shdepend when the server stops.
  ASSERT_NO_FATAL_FAILURE(delete_cut(lock("pg_shdepend", "DROP DATABASE"), instance("i-1")));
  remove_and_expect_nothing_left("i-1");
}

}  // namespace
}  // namespace osbd_pg_test

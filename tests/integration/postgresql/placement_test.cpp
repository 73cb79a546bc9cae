// Placement on the least loaded of two real PostgreSQL servers. The second server is started by
// a CTest fixture (port OSBD_PG_PORT2, default 25433).

#include "plugin_fixture.hpp"

namespace osbd_pg_test {
namespace {

using nlohmann::json;

class PostgresqlPlacement : public PluginTest {
 protected:
  void SetUp() override {
    OSBD_REQUIRE_POSTGRES(second_);
    PluginTest::SetUp();
  }
  void TearDown() override {
    if (!prefix_.empty() && unreachable_reason(second_).empty()) {
      drop_everything(second_, prefix_);
    }
    PluginTest::TearDown();
  }
  json config() override {
    json c = test_config(env_, prefix_);
    c["servers"].push_back(server_config("second", second_));
    c["services"][0]["plans"][0]["servers"] = {"main", "second"};
    return c;
  }

  bool has_database(const PgEnv& env, const std::string& database) {
    return !databases_with_prefix(env, database).empty();
  }

  PgEnv second_ = pg_env_second();
};

TEST_F(PostgresqlPlacement, InstancesGoToTheServerWithFewestDatabasesAndAreFoundThere) {
  std::vector<json> states;
  for (const char* id : {"p-1", "p-2", "p-3", "p-4"}) {
    states.push_back(provision_ok(id));
  }
  ASSERT_EQ(states.size(), 4u);
  // Ties go to the first server of the plan.
  EXPECT_EQ(states[0]["server"], "main");
  EXPECT_EQ(states[1]["server"], "second");
  EXPECT_EQ(states[2]["server"], "main");
  EXPECT_EQ(states[3]["server"], "second");
  for (const json& state : states) {
    const bool on_main = state["server"] == "main";
    EXPECT_EQ(has_database(env_, state["database"]), on_main);
    EXPECT_EQ(has_database(second_, state["database"]), !on_main);
  }

  // Two more databases of this plugin on main: the next two instances go to second.
  for (const char* hex : {"aaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbb"}) {
    admin_query(env_, "CREATE DATABASE \"" + prefix_ + hex + "\"");
  }
  EXPECT_EQ(provision_ok("p-5")["server"], "second");
  EXPECT_EQ(provision_ok("p-6")["server"], "second");
  EXPECT_EQ(provision_ok("p-7")["server"], "main");  // 4 + 2 on main, 4 on second

  // A binding of an instance on second points at second and works there.
  const json creds = bind_ok("p-2", "b-2", states[1]);
  EXPECT_EQ(creds["port"], second_.port);
  EXPECT_NO_THROW(run_as(creds, "CREATE TABLE t (v int)"));
  // Bind and deprovision without state find the instance on whichever server holds it.
  EXPECT_TRUE(can_login(bind_ok("p-4", "b-4")));
  for (const char* id : {"p-1", "p-2", "p-3", "p-4", "p-5", "p-6", "p-7"}) {
    auto call = deprovision(id);
    EXPECT_EQ(call.status, OSB_STATUS_OK) << id << ": " << call.error.value_or("");
  }
  EXPECT_TRUE(roles_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(roles_with_prefix(second_, prefix_).empty());
  EXPECT_TRUE(databases_with_prefix(second_, prefix_).empty());
  EXPECT_EQ(databases_with_prefix(env_, prefix_).size(), 2u);  // the two made by hand
}

}  // namespace
}  // namespace osbd_pg_test

// The MySQL plugin through its C ABI against a real MariaDB server.

#include <algorithm>
#include <chrono>

#include "plugin_fixture.hpp"

namespace osbd_mysql_test {
namespace {

using nlohmann::json;

using osbd_plugin_test::eventually;

// The server error number of running sql as credentials (0 when it works).
int error_of(const json& credentials, const std::string& sql) {
  // The quota monitor ends a database's sessions when it changes their privileges; a statement
  // caught by that tells nothing yet and runs again on a new session. The client reports it as
  // 2013 (lost connection during the query), 2006 (server gone away) or 1927 (connection killed).
  const auto session_ended = [](int error) {
    return error == 2013 || error == 2006 || error == 1927;
  };
  int error = 2013;
  for (int attempt = 0; attempt < 5 && session_ended(error); ++attempt) {
    try {
      run_as(credentials, sql);
      error = 0;
    } catch (const sql::SQLException& e) {
      error = e.getErrorCode();
    }
  }
  return error;
}

// The server error number of a login as credentials to database (0 when it works).
int login_error(const json& credentials, const std::string& database = "") {
  try {
    login(credentials, database);
    return 0;
  } catch (const sql::SQLException& e) {
    return e.getErrorCode();
  }
}

std::string grants_of(const MysqlEnv& env, const std::string& user) {
  std::string out;
  for (const auto& row : admin_rows(env, "SHOW GRANTS FOR '" + user + "'@'%'")) {
    out += row.at(0) + "\n";
  }
  return out;
}

// About 6.8 MB in one statement (which also brings the table's statistics up to date):
// 5000 rows of 1000 bytes, from derived tables any user may read.
constexpr const char* kCreateBigTable =
    "CREATE TABLE big AS SELECT REPEAT('x', 1000) AS v FROM "
    "(SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) a, "
    "(SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 "
    "UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9 UNION ALL "
    "SELECT 10) b, "
    "(SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 "
    "UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9 UNION ALL "
    "SELECT 10) c, "
    "(SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 "
    "UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9 UNION ALL "
    "SELECT 10) d";

using MysqlPlugin = PluginTest;

TEST_F(MysqlPlugin, LifecycleBindingsLogInCreateTablesAndLeaveNothingBehind) {
  const json state = provision_ok("inst-1");
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state["server"], "main");
  EXPECT_EQ(state["plan_id"], kSmall);
  const std::string database = state["database"];
  EXPECT_EQ(database.rfind(prefix_, 0), 0u);
  EXPECT_EQ(database.find("inst"), std::string::npos) << "names never contain the raw id";
  EXPECT_EQ(database.size(), prefix_.size() + 24);
  EXPECT_EQ(admin_strings(env_,
                          "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                          "WHERE SCHEMA_NAME = ?",
                          {database}),
            std::vector<std::string>{"utf8mb4"});

  const json first = bind_ok("inst-1", "bind-1", state);
  ASSERT_TRUE(first.is_object());
  for (const char* key :
       {"host", "port", "database", "name", "username", "password", "uri", "jdbcUrl"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_EQ(first["host"], env_.host);
  EXPECT_EQ(first["port"], env_.port);
  EXPECT_EQ(first["name"], database);
  const std::string user = first["username"];
  const std::string password = first["password"];
  EXPECT_GE(password.size(), 32u);
  EXPECT_LE(user.size(), 32u) << "MySQL's limit for user names";
  EXPECT_EQ(user.rfind(prefix_, 0), 0u);
  const std::string authority = env_.host + ":" + std::to_string(env_.port);
  EXPECT_EQ(first["uri"], "mysql://" + user + ":" + password + "@" + authority + "/" + database);
  EXPECT_EQ(first["jdbcUrl"], "jdbc:mysql://" + authority + "/" + database + "?user=" + user +
                                  "&password=" + password);
  // Privileges on its database only, no GRANT OPTION, and the plan's connection limit.
  const std::string grants = grants_of(env_, user);
  EXPECT_NE(grants.find("GRANT ALL PRIVILEGES ON `" + prefix_.substr(0, prefix_.size() - 1)),
            std::string::npos)
      << grants;
  EXPECT_EQ(grants.find("GRANT OPTION"), std::string::npos) << grants;
  EXPECT_EQ(grants.find("ON *.*", grants.find('\n')), std::string::npos) << grants;
  EXPECT_EQ(
      admin_strings(env_, "SELECT max_user_connections FROM mysql.user WHERE User = ?", {user}),
      std::vector<std::string>{"3"});

  // The binding logs in and creates a table.
  {
    auto connection = login(first);
    exec(*connection, "CREATE TABLE notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT)");
    exec(*connection, "INSERT INTO notes (body) VALUES ('kept across bindings, ünïcödé 😀')");
    EXPECT_EQ(rows_of(*connection, "SELECT body FROM notes")[0][0],
              "kept across bindings, ünïcödé 😀");
  }

  const json second = bind_ok("inst-1", "bind-2", state);
  ASSERT_TRUE(second.is_object());
  EXPECT_NE(second["username"], first["username"]);
  EXPECT_NE(second["password"], first["password"]);
  EXPECT_EQ(run_as(second, "SELECT COUNT(*) FROM notes")[0][0], "1");

  // A session of the first binding that is open when it is unbound ends at once.
  auto open_session = login(first);
  const std::string open_id = rows_of(*open_session, "SELECT CONNECTION_ID()")[0][0];
  auto unbound = unbind("inst-1", "bind-1", state);
  ASSERT_EQ(unbound.status, OSB_STATUS_OK) << unbound.error.value_or("");
  EXPECT_TRUE(
      admin_rows(env_, "SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ?", {open_id})
          .empty());
  EXPECT_THROW(rows_of(*open_session, "SELECT 1"), sql::SQLException);
  // 1045 access denied; MariaDB answers 1698 instead when it finds no account to check a
  // password against at all. Both refuse the login.
  const int refused = login_error(first);
  EXPECT_TRUE(refused == 1045 || refused == 1698) << refused;
  EXPECT_TRUE(users_with_prefix(env_, user).empty());

  // The table survived the unbind and the second binding still writes to it.
  run_as(second, "INSERT INTO notes (body) VALUES ('second')");
  EXPECT_EQ(run_as(second, "SELECT COUNT(*) FROM notes")[0][0], "2");

  ASSERT_EQ(unbind("inst-1", "bind-2", state).status, OSB_STATUS_OK);
  EXPECT_FALSE(can_login(second));
  auto gone = deprovision("inst-1", state);
  ASSERT_EQ(gone.status, OSB_STATUS_OK) << gone.error.value_or("");
  for (const std::string& name : databases_with_prefix(env_, prefix_)) {
    EXPECT_EQ(name, prefix_ + "meta") << "only the bookkeeping database stays";
  }
  EXPECT_TRUE(users_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(admin_rows(env_,
                         "SELECT 1 FROM `" + prefix_ + "meta`.instances WHERE database_name = ?",
                         {database})
                  .empty());

  // Secrets never reach the log, though the statements do (at debug level).
  bool logged_redacted_statement = false;
  for (const auto& line : host_.logs()) {
    EXPECT_EQ(line.message.find(password), std::string::npos) << line.message;
    EXPECT_EQ(line.message.find(second["password"].get<std::string>()), std::string::npos);
    EXPECT_EQ(line.message.find(env_.admin_password), std::string::npos) << line.message;
    if (line.message.find("CREATE USER") != std::string::npos &&
        line.message.find("<redacted>") != std::string::npos) {
      logged_redacted_statement = true;
    }
  }
  EXPECT_TRUE(logged_redacted_statement);
}

TEST_F(MysqlPlugin, BindingsCannotSeeOrReachOtherInstancesDatabases) {
  const json a = provision_ok("inst-a");
  const json b = provision_ok("inst-b");
  const json creds_a = bind_ok("inst-a", "bind-a", a);
  const json creds_b = bind_ok("inst-b", "bind-b", b);
  const std::string db_a = a["database"];
  const std::string db_b = b["database"];
  EXPECT_EQ(login_error(creds_a, db_a), 0);
  EXPECT_EQ(login_error(creds_b, db_a), 1044) << "access denied to the database";
  EXPECT_EQ(login_error(creds_a, db_b), 1044);
  run_as(creds_b, "CREATE TABLE secret (v TEXT)");
  EXPECT_NE(error_of(creds_a, "SELECT * FROM `" + db_b + "`.secret"), 0);
  // SHOW DATABASES lists only its own.
  std::vector<std::string> visible;
  for (const auto& row : run_as(creds_a, "SHOW DATABASES")) {
    visible.push_back(row[0]);
  }
  EXPECT_EQ(visible, (std::vector<std::string>{"information_schema", db_a}));
  // The _ in a database name is no wildcard in its grant: a look-alike database cannot be made.
  std::string look_alike = db_a;
  look_alike[prefix_.size() - 1] = 'x';
  EXPECT_NE(error_of(creds_a, "CREATE DATABASE `" + look_alike + "`"), 0);
  EXPECT_NE(error_of(creds_a, "CREATE DATABASE `" + prefix_ + "sneaky`"), 0);
  EXPECT_NE(error_of(creds_a, "CREATE USER 'sneaky'@'%'"), 0);
  EXPECT_NE(error_of(creds_a, "GRANT SELECT ON `" + db_a + "`.* TO '" +
                                  creds_b["username"].get<std::string>() + "'@'%'"),
            0);
  EXPECT_NE(error_of(creds_a, "SELECT * FROM `" + prefix_ + "meta`.instances"), 0);
  EXPECT_TRUE(databases_with_prefix(env_, look_alike).empty());
}

TEST_F(MysqlPlugin, RepeatedAndHalfFinishedOperationsSucceed) {
  const json state = provision_ok("inst-r");
  EXPECT_EQ(provision_ok("inst-r"), state) << "a repeated provision finds the same database";

  const json old_creds = bind_ok("inst-r", "bind-r", state);
  const json new_creds = bind_ok("inst-r", "bind-r", state);
  EXPECT_EQ(new_creds["username"], old_creds["username"]);
  EXPECT_NE(new_creds["password"], old_creds["password"]);
  EXPECT_FALSE(can_login(old_creds)) << "a repeated bind replaces the password";
  EXPECT_TRUE(can_login(new_creds));

  // Without instance_state the plugin finds the instance by its name.
  EXPECT_TRUE(can_login(bind_ok("inst-r", "bind-r2")));
  EXPECT_EQ(unbind("inst-r", "bind-r2").status, OSB_STATUS_OK);

  EXPECT_EQ(unbind("inst-r", "never-bound", state).status, OSB_STATUS_OK);
  EXPECT_EQ(unbind("inst-r", "bind-r", state).status, OSB_STATUS_OK);
  EXPECT_EQ(unbind("inst-r", "bind-r", state).status, OSB_STATUS_OK);
  EXPECT_EQ(deprovision("inst-r", state).status, OSB_STATUS_OK);
  EXPECT_EQ(deprovision("inst-r", state).status, OSB_STATUS_OK);
  EXPECT_EQ(deprovision("never-provisioned").status, OSB_STATUS_OK);
  EXPECT_EQ(unbind("never-provisioned", "b").status, OSB_STATUS_OK);

  // A half-created instance (a binding user left, the database gone) is cleaned up by
  // deprovision without any state.
  const json half = provision_ok("inst-half");
  const std::string database = half["database"];
  const json half_creds = bind_ok("inst-half", "bind-half", half);
  admin_rows(env_, "DROP DATABASE `" + database + "`");
  EXPECT_EQ(bind("inst-half", "bind-2", half).status, OSB_STATUS_UNPROCESSABLE);
  EXPECT_EQ(users_with_prefix(env_, prefix_).size(), 1u);
  EXPECT_EQ(deprovision("inst-half").status, OSB_STATUS_OK);
  EXPECT_TRUE(users_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(databases_with_prefix(env_, database).empty());

  // A user created without its grant (bind stopped after its first statement) is finished by a
  // retry and removed by unbind.
  const json again = provision_ok("inst-half");
  admin_rows(env_, "CREATE USER '" + half_creds["username"].get<std::string>() +
                       "'@'%' IDENTIFIED BY 'x'");
  const json finished = bind_ok("inst-half", "bind-half", again);
  EXPECT_EQ(finished["username"], half_creds["username"]);
  EXPECT_NO_THROW(run_as(finished, "CREATE TABLE t (v INT)"));
  EXPECT_EQ(unbind("inst-half", "bind-half").status, OSB_STATUS_OK);
  EXPECT_TRUE(users_with_prefix(env_, prefix_).empty());
}

TEST_F(MysqlPlugin, ConnectionLimitIsEnforcedAndFollowsThePlan) {
  const json state = provision_ok("inst-c");
  const json creds = bind_ok("inst-c", "bind-c", state);
  std::vector<std::unique_ptr<sql::Connection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(login(creds));
  }
  EXPECT_EQ(login_error(creds), 1226) << "max_user_connections of plan small is 3";

  auto up = backend_->update({{"instance_id", "inst-c"},
                              {"service_id", kService},
                              {"plan_id", kLarge},
                              {"previous_plan_id", kSmall},
                              {"instance_state", state}});
  ASSERT_EQ(up.status, OSB_STATUS_OK) << up.error.value_or("");
  EXPECT_EQ(up.json()["instance_state"]["plan_id"], kLarge);
  EXPECT_EQ(login_error(creds), 0) << "plan large allows 10";
  EXPECT_EQ(admin_strings(env_, "SELECT max_user_connections FROM mysql.user WHERE User = ?",
                          {creds["username"]}),
            std::vector<std::string>{"10"});
  // New bindings get the new plan's limit too.
  EXPECT_TRUE(can_login(bind_ok("inst-c", "bind-d", up.json()["instance_state"], kLarge)));
  EXPECT_EQ(backend_
                ->update({{"instance_id", "inst-c"},
                          {"service_id", kService},
                          {"plan_id", kLarge},
                          {"parameters", {{"size", 1}}}})
                .status,
            OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(backend_
                ->update({{"instance_id", "no-such-instance"},
                          {"service_id", kService},
                          {"plan_id", kLarge},
                          {"previous_plan_id", kSmall}})
                .status,
            OSB_STATUS_UNPROCESSABLE);
}

TEST_F(MysqlPlugin, OverQuotaRemovesWritePrivilegesUntilBackUnder) {
  const json state = provision_ok("inst-q", kQuota);
  const json creds = bind_ok("inst-q", "bind-q", state, kQuota);
  const json other_state = provision_ok("inst-other", kQuota);
  const json bystander = bind_ok("inst-other", "b", other_state, kQuota);
  run_as(creds, "CREATE TABLE t (v TEXT)");
  run_as(bystander, "CREATE TABLE t (v TEXT)");
  auto writable = [](const json& c) {
    const int error = error_of(c, "INSERT INTO t VALUES ('x')");
    EXPECT_TRUE(error == 0 || error == 1142) << error;  // command denied
    return error == 0;
  };
  auto usage = [&] {
    return backend_->usage({{"instance_id", "inst-q"},
                            {"service_id", kService},
                            {"plan_id", kQuota},
                            {"instance_state", state}});
  };
  ASSERT_TRUE(writable(creds));
  auto before = usage();
  ASSERT_EQ(before.status, OSB_STATUS_OK) << before.error.value_or("");
  EXPECT_EQ(before.json()["quota_bytes"], 1024 * 1024);
  EXPECT_EQ(before.json()["over_quota"], false);
  EXPECT_LT(before.json()["bytes"].get<std::int64_t>(), 1024 * 1024);

  // About 6.8 MB: over the 1 MB quota.
  const auto start = std::chrono::steady_clock::now();
  run_as(creds, kCreateBigTable);
  // quota_check_seconds is 1: enforcement follows within one interval plus one pass.
  EXPECT_TRUE(eventually([&] { return !writable(creds); }, std::chrono::seconds(15)));
  // Generous for loaded CI machines; the interval is 1 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  EXPECT_NE(error_of(creds, "UPDATE t SET v = 'y'"), 0);
  EXPECT_NE(error_of(creds, "CREATE TABLE more (v INT)"), 0);
  EXPECT_EQ(run_as(creds, "SELECT COUNT(*) FROM big")[0][0], "5000") << "reads work";
  EXPECT_TRUE(writable(bystander)) << "only the database over quota loses its writes";
  auto over = usage();
  EXPECT_EQ(over.json()["over_quota"], true);
  EXPECT_GT(over.json()["bytes"].get<std::int64_t>(), 1024 * 1024);
  EXPECT_NE(over.json().value("description", "").find("over its storage quota of 1 MB"),
            std::string::npos);
  // A binding made while over quota has no write privileges either.
  const json late = bind_ok("inst-q", "bind-late", state, kQuota);
  EXPECT_FALSE(writable(late));

  // Removing the data brings it back under, and every binding writes again.
  run_as(creds, "DROP TABLE big");
  EXPECT_TRUE(eventually([&] { return writable(creds); }, std::chrono::seconds(15)));
  EXPECT_TRUE(writable(late));
  EXPECT_EQ(usage().json()["over_quota"], false);
  int warnings = 0;
  for (const auto& line : host_.logs()) {
    warnings += line.level == OSB_LOG_WARN &&
                line.message.find(state["database"].get<std::string>()) != std::string::npos;
  }
  EXPECT_EQ(warnings, 1);

  // A plan without quota lifts it at once (the update wakes the monitor).
  run_as(creds, kCreateBigTable);
  EXPECT_TRUE(eventually([&] { return !writable(creds); }, std::chrono::seconds(15)));
  auto up = backend_->update({{"instance_id", "inst-q"},
                              {"service_id", kService},
                              {"plan_id", kBare},
                              {"previous_plan_id", kQuota},
                              {"instance_state", state}});
  ASSERT_EQ(up.status, OSB_STATUS_OK) << up.error.value_or("");
  EXPECT_TRUE(eventually([&] { return writable(creds); }, std::chrono::seconds(15)));
}

TEST_F(MysqlPlugin, HostileIdsAndParametersChangeNothingOutsideTheirInstance) {
  // A bystander instance with data, to check that nothing outside each instance changes.
  const json bystander = provision_ok("bystander");
  const json bystander_creds = bind_ok("bystander", "bystander-binding", bystander);
  run_as(bystander_creds, "CREATE TABLE precious (v TEXT)");
  run_as(bystander_creds, "INSERT INTO precious VALUES ('x')");

  const std::vector<std::string> ids = {
      "'; DROP DATABASE mysql; --",
      "`; DROP USER " + env_.admin_user + "; --",
      "x'); DROP TABLE precious; --",
      "' OR '1'='1",
      "%_%",
      "$1 ? %s %n \\\\ \\' \\\"",
      "名前-😀-\u202eevil\u202c",
      std::string(255, 'a'),
      "bystander ",  // one space away from another instance's id
      std::string("nul\0inside", 10),
      prefix_ + "meta",
  };
  for (const std::string& id : ids) {
    SCOPED_TRACE(json(id).dump());
    const json state = provision_ok(id);
    ASSERT_TRUE(state.is_object());
    const std::string database = state["database"];
    EXPECT_EQ(database.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"),
              std::string::npos);
    const json creds = bind_ok(id, id, state);
    ASSERT_TRUE(creds.is_object());
    run_as(creds, "CREATE TABLE t (v TEXT)");
    EXPECT_EQ(login_error(creds, bystander["database"]), 1044);
    EXPECT_EQ(unbind(id, id, state).status, OSB_STATUS_OK);
    EXPECT_FALSE(can_login(creds));
    EXPECT_EQ(deprovision(id, state).status, OSB_STATUS_OK);
  }
  // Hostile parameters are refused before anything happens.
  for (const json& parameters : {json{{"'; DROP DATABASE mysql; --", 1}}, json{{"quota_mb", 0}},
                                 json{{"max_user_connections", 1000}}}) {
    auto call = provision("hostile-params", kSmall, parameters);
    EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST) << parameters.dump();
  }
  auto with_parameters = backend_->bind({{"instance_id", "bystander"},
                                         {"binding_id", "b-params"},
                                         {"service_id", kService},
                                         {"plan_id", kSmall},
                                         {"parameters", {{"grant", "ALL"}}}});
  EXPECT_EQ(with_parameters.status, OSB_STATUS_BAD_REQUEST);

  // Everything outside the hostile instances is as it was.
  EXPECT_EQ(databases_with_prefix(env_, prefix_),
            (std::vector<std::string>{bystander["database"], prefix_ + "meta"}));
  EXPECT_EQ(users_with_prefix(env_, prefix_),
            std::vector<std::string>{bystander_creds["username"]});
  EXPECT_EQ(run_as(bystander_creds, "SELECT v FROM precious")[0][0], "x");
  EXPECT_FALSE(admin_rows(env_,
                          "SELECT 1 FROM information_schema.SCHEMATA "
                          "WHERE SCHEMA_NAME = 'mysql'")
                   .empty());
  EXPECT_EQ(unreachable_reason(env_), "") << "the admin still logs in";
}

TEST_F(MysqlPlugin, UsageOfUnknownInstancesTellsNothing) {
  auto call = backend_->usage(
      {{"instance_id", "never-provisioned"}, {"service_id", kService}, {"plan_id", kSmall}});
  ASSERT_EQ(call.status, OSB_STATUS_OK) << call.error.value_or("");
  EXPECT_EQ(call.json(), json::object());
  const json state = provision_ok("inst-u");
  auto small = backend_->usage({{"instance_id", "inst-u"},
                                {"service_id", kService},
                                {"plan_id", kSmall},
                                {"instance_state", state}});
  EXPECT_TRUE(small.json().contains("bytes"));
  EXPECT_FALSE(small.json().contains("quota_bytes")) << "plan small has no quota";
}

TEST_F(MysqlPlugin, CatalogListsTheConfiguredServiceAndPlans) {
  auto call = backend_->catalog();
  ASSERT_EQ(call.status, OSB_STATUS_OK);
  const json catalog = call.json();
  ASSERT_EQ(catalog["services"].size(), 1u);
  const json& service = catalog["services"][0];
  EXPECT_EQ(service["id"], kService);
  EXPECT_EQ(service["tags"], json({"mysql", "mariadb", "relational", "sql"}));
  ASSERT_EQ(service["plans"].size(), 4u);
  EXPECT_EQ(service["plans"][0]["schemas"]["service_instance"]["create"]["parameters"]
                   ["additionalProperties"],
            false);
  EXPECT_EQ(catalog.dump().find(env_.admin_password), std::string::npos);
}

// A plan whose first server is down: provisioning uses the other one.
class MysqlPluginWithADownServer : public PluginTest {
 protected:
  json config() override {
    return osbd_plugin_test::with_down_server(test_config(env_, prefix_),
                                              server_config("down", env_));
  }
};

TEST_F(MysqlPluginWithADownServer, PlacementSkipsItAndOperationsOnItAreBackendErrors) {
  const json state = provision_ok("inst-d", kSmall);
  EXPECT_EQ(state["server"], "main");
  EXPECT_TRUE(can_login(bind_ok("inst-d", "b", state)));
  EXPECT_EQ(deprovision("inst-d", state).status, OSB_STATUS_OK);

  auto call = provision("inst-e", kLarge);
  EXPECT_EQ(call.status, OSB_STATUS_BACKEND_ERROR);
  const std::string error = call.error.value_or("");
  EXPECT_NE(error.find("\"down\""), std::string::npos) << error;
  EXPECT_EQ(error.find(env_.admin_password), std::string::npos) << error;
  EXPECT_EQ(deprovision("inst-e", nullptr, kLarge).status, OSB_STATUS_BACKEND_ERROR);
}

}  // namespace
}  // namespace osbd_mysql_test

// The PostgreSQL plugin through its C ABI against a real PostgreSQL server.

#include <chrono>

#include "plugin_fixture.hpp"

namespace osbd_pg_test {
namespace {

using nlohmann::json;

// One row of pg_database for the database name.
pqxx::row database_row(const PgEnv& env, const std::string& database) {
  pqxx::connection c(admin_conninfo(env));
  pqxx::nontransaction tx(c);
  const pqxx::result r = tx.exec_params(
      "SELECT pg_get_userbyid(datdba), datconnlimit, "
      "has_database_privilege('public', oid, 'CONNECT') FROM pg_database WHERE datname = $1",
      database);
  if (r.empty()) {
    throw std::runtime_error("no database " + database);
  }
  return r[0];
}

// Extensions installed in database.
std::vector<std::string> extensions_in(const PgEnv& env, const std::string& database) {
  std::vector<std::string> out;
  for (const auto& row :
       admin_query(env, "SELECT extname FROM pg_extension ORDER BY 1", database)) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

using osbd_plugin_test::eventually;

using PostgresqlPlugin = PluginTest;

TEST_F(PostgresqlPlugin, LifecycleBindingsLogInCreateTablesAndLeaveNothingBehind) {
  const json state = provision_ok("inst-1");
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state["server"], "main");
  EXPECT_EQ(state["plan_id"], kSmall);
  const std::string database = state["database"];
  EXPECT_EQ(database.rfind(prefix_, 0), 0u);
  EXPECT_EQ(database.find("inst"), std::string::npos) << "names never contain the raw id";
  EXPECT_EQ(database.size(), prefix_.size() + 24);

  const pqxx::row row = database_row(env_, database);
  EXPECT_EQ(row[0].as<std::string>(), database + "_owner");
  EXPECT_EQ(row[1].as<int>(), 5);
  EXPECT_FALSE(row[2].as<bool>()) << "PUBLIC must not have CONNECT";
  EXPECT_FALSE(admin_query(env_, "SELECT rolcanlogin FROM pg_roles WHERE rolname = '" + database +
                                     "_owner'")[0][0]
                   .as<bool>());

  const json first = bind_ok("inst-1", "bind-1", state);
  ASSERT_TRUE(first.is_object());
  for (const char* key :
       {"host", "port", "database", "name", "username", "password", "uri", "jdbcUrl"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_EQ(first["host"], env_.host);
  EXPECT_EQ(first["port"], env_.port);
  EXPECT_EQ(first["database"], database);
  const std::string user = first["username"];
  const std::string password = first["password"];
  EXPECT_GE(password.size(), 32u);
  EXPECT_EQ(user.rfind(database + "_b_", 0), 0u);
  EXPECT_EQ(first["uri"], "postgresql://" + user + ":" + password + "@" + env_.host + ":" +
                              std::to_string(env_.port) + "/" + database);
  EXPECT_EQ(first["jdbcUrl"], "jdbc:postgresql://" + env_.host + ":" + std::to_string(env_.port) +
                                  "/" + database + "?user=" + user + "&password=" + password);

  // The binding logs in, acts as the owner role and creates a table.
  {
    auto connection = login(first);
    pqxx::nontransaction tx(*connection);
    EXPECT_EQ(tx.exec("SELECT current_user")[0][0].as<std::string>(), database + "_owner");
    tx.exec("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)");
    tx.exec("INSERT INTO notes (body) VALUES ('kept across bindings')");
  }
  // It also logs in with the separate fields.
  EXPECT_NO_THROW(login_to(first, database));

  const json second = bind_ok("inst-1", "bind-2", state);
  ASSERT_TRUE(second.is_object());
  EXPECT_NE(second["username"], first["username"]);
  EXPECT_NE(second["password"], first["password"]);
  EXPECT_EQ(run_as(second, "SELECT count(*) FROM notes")[0][0].as<int>(), 1);

  // A session of the first binding that is open when it is unbound ends at once.
  auto open_session = login(first);
  const std::string open_pid = std::to_string(open_session->backendpid());
  auto unbound = unbind("inst-1", "bind-1", state);
  ASSERT_EQ(unbound.status, OSB_STATUS_OK) << unbound.error.value_or("");
  EXPECT_TRUE(admin_query(env_, "SELECT 1 FROM pg_stat_activity WHERE pid = " + open_pid).empty());
  EXPECT_FALSE(can_login(first));
  EXPECT_TRUE(roles_with_prefix(env_, user).empty());

  // The table survived the unbind and the second binding still writes to it.
  run_as(second, "INSERT INTO notes (body) VALUES ('second')");
  EXPECT_EQ(run_as(second, "SELECT count(*) FROM notes")[0][0].as<int>(), 2);

  ASSERT_EQ(unbind("inst-1", "bind-2", state).status, OSB_STATUS_OK);
  EXPECT_FALSE(can_login(second));
  auto gone = deprovision("inst-1", state);
  ASSERT_EQ(gone.status, OSB_STATUS_OK) << gone.error.value_or("");
  EXPECT_TRUE(databases_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(roles_with_prefix(env_, prefix_).empty());

  // Secrets never reach the log, though the statements do (at debug level).
  bool logged_redacted_statement = false;
  for (const auto& line : host_.logs()) {
    EXPECT_EQ(line.message.find(password), std::string::npos) << line.message;
    EXPECT_EQ(line.message.find(second["password"].get<std::string>()), std::string::npos);
    EXPECT_EQ(line.message.find(env_.admin_password), std::string::npos) << line.message;
    EXPECT_EQ(line.message.find("SCRAM-SHA-256$"), std::string::npos) << line.message;
    if (line.message.find("CREATE ROLE") != std::string::npos &&
        line.message.find("<redacted>") != std::string::npos) {
      logged_redacted_statement = true;
    }
  }
  EXPECT_TRUE(logged_redacted_statement);
}

TEST_F(PostgresqlPlugin, BindingsCannotConnectToOtherInstancesDatabases) {
  const json a = provision_ok("inst-a");
  const json b = provision_ok("inst-b");
  const json creds_a = bind_ok("inst-a", "bind-a", a);
  const json creds_b = bind_ok("inst-b", "bind-b", b);
  EXPECT_NO_THROW(login_to(creds_a, a["database"]));
  EXPECT_THROW(login_to(creds_b, a["database"]), pqxx::broken_connection);
  EXPECT_THROW(login_to(creds_a, b["database"]), pqxx::broken_connection);
  // Nor can a binding create databases or roles.
  EXPECT_THROW(run_as(creds_a, "CREATE DATABASE " + prefix_ + "sneaky"), pqxx::sql_error);
  EXPECT_THROW(run_as(creds_a, "CREATE ROLE " + prefix_ + "sneaky"), pqxx::sql_error);
  EXPECT_THROW(run_as(creds_a, "GRANT \"" + a["database"].get<std::string>() + "_owner\" TO \"" +
                                   creds_b["username"].get<std::string>() + "\""),
               pqxx::sql_error);
}

TEST_F(PostgresqlPlugin, RepeatedAndHalfFinishedOperationsSucceed) {
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

  // A half-created instance (owner role and a binding role, no database) is cleaned up by
  // deprovision without any state.
  const json half = provision_ok("inst-half");
  const std::string database = half["database"];
  bind_ok("inst-half", "bind-half", half);
  admin_query(env_, "DROP DATABASE \"" + database + "\" WITH (FORCE)");
  EXPECT_EQ(roles_with_prefix(env_, database).size(), 2u);
  EXPECT_EQ(bind("inst-half", "bind-2", half).status, OSB_STATUS_UNPROCESSABLE);
  EXPECT_EQ(unbind("inst-half", "bind-half").status, OSB_STATUS_OK);
  EXPECT_EQ(deprovision("inst-half").status, OSB_STATUS_OK);
  EXPECT_TRUE(roles_with_prefix(env_, prefix_).empty());
  EXPECT_TRUE(databases_with_prefix(env_, prefix_).empty());

  // An owner role alone (provision stopped after its first statement) is finished by a retry.
  admin_query(env_, "CREATE ROLE \"" + database + "_owner\" NOLOGIN");
  const json finished = provision_ok("inst-half");
  EXPECT_EQ(finished["database"], database);
  EXPECT_TRUE(can_login(bind_ok("inst-half", "b", finished)));
}

TEST_F(PostgresqlPlugin, ExtensionsAreLimitedToThePlansList) {
  const json state = provision_ok("inst-x", kSmall, {{"extensions", {"pgcrypto", "hstore"}}});
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state["extensions"], json({"pgcrypto", "hstore"}));
  const auto installed = extensions_in(env_, state["database"]);
  EXPECT_TRUE(contains(installed, "pgcrypto"));
  EXPECT_TRUE(contains(installed, "hstore"));
  const json creds = bind_ok("inst-x", "bind-x", state);
  EXPECT_EQ(run_as(creds, "SELECT length(gen_random_bytes(8))")[0][0].as<int>(), 8);

  const std::vector<json> refused = {
      {{"extensions", {"citext"}}},                                // not in this plan
      {{"extensions", {"pgcrypto; DROP DATABASE postgres; --"}}},  // not a name at all
      {{"extensions", "pgcrypto"}},                                // not a list
      {{"extensions", {1}}},
      {{"size", 3}},  // unknown parameter
  };
  for (const json& parameters : refused) {
    auto call = provision("inst-refused", kSmall, parameters);
    EXPECT_EQ(call.status, OSB_STATUS_BAD_REQUEST) << parameters.dump();
    EXPECT_FALSE(call.error.value_or("").empty());
  }
  EXPECT_EQ(provision("inst-refused", kBare, {{"extensions", {"pgcrypto"}}}).status,
            OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(databases_with_prefix(env_, prefix_).size(), 1u) << "refused requests create nothing";
  EXPECT_EQ(provision("inst-refused", "no-such-plan").status, OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(bind("inst-x", "bind-p", state).status, OSB_STATUS_OK);
  auto with_parameters = backend_->bind({{"instance_id", "inst-x"},
                                         {"binding_id", "bind-q"},
                                         {"service_id", kService},
                                         {"plan_id", kSmall},
                                         {"parameters", {{"admin", true}}}});
  EXPECT_EQ(with_parameters.status, OSB_STATUS_BAD_REQUEST);
}

TEST_F(PostgresqlPlugin, HostileIdsAndParametersChangeNothingOutsideTheirInstance) {
  // A bystander instance with data, to check that nothing outside each instance changes.
  const json bystander = provision_ok("bystander");
  const json bystander_creds = bind_ok("bystander", "bystander-binding", bystander);
  run_as(bystander_creds, "CREATE TABLE precious (v text); INSERT INTO precious VALUES ('x')");

  const std::vector<std::string> ids = {
      "'; DROP DATABASE postgres; --",
      "\"; DROP ROLE " + env_.admin_user + "; --",
      "x'); DROP TABLE precious; --",
      "$1 $2 %s %n \\\\ \\' \\\"",
      "名前-😀-\u202eevil\u202c",
      std::string(255, 'a'),
      "bystander ",  // one space away from another instance's id
      std::string("nul\0inside", 10),
      prefix_ + "000000000000000000000000_owner",
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
    run_as(creds, "CREATE TABLE t (v text)");
    EXPECT_THROW(login_to(creds, bystander["database"]), pqxx::broken_connection);
    EXPECT_EQ(unbind(id, id, state).status, OSB_STATUS_OK);
    EXPECT_FALSE(can_login(creds));
    EXPECT_EQ(deprovision(id, state).status, OSB_STATUS_OK);
  }
  // Hostile parameters are refused before anything happens.
  for (const json& parameters : {json{{"extensions", {"hstore\"; DROP DATABASE postgres; --"}}},
                                 json{{"extensions", {"pgcrypto", "'; DROP ROLE x; --"}}},
                                 json{{"'; DROP DATABASE postgres; --", 1}}}) {
    EXPECT_EQ(provision("hostile-params", kSmall, parameters).status, OSB_STATUS_BAD_REQUEST);
  }

  // Everything outside the hostile instances is as it was.
  EXPECT_EQ(databases_with_prefix(env_, prefix_), std::vector<std::string>{bystander["database"]});
  EXPECT_EQ(roles_with_prefix(env_, prefix_).size(), 2u);  // bystander's owner and binding
  EXPECT_EQ(run_as(bystander_creds, "SELECT v FROM precious")[0][0].as<std::string>(), "x");
  EXPECT_FALSE(admin_query(env_, "SELECT 1 FROM pg_database WHERE datname = 'postgres'").empty());
  EXPECT_TRUE(admin_query(env_, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]
                  .as<bool>());
}

TEST_F(PostgresqlPlugin, UpdateChangesConnectionLimitQuotaAndExtensions) {
  const json state = provision_ok("inst-u", kSmall, {{"extensions", {"pgcrypto"}}});
  const std::string database = state["database"];
  auto update = [&](const char* plan, const char* previous, json parameters, const json& st) {
    return backend_->update({{"instance_id", "inst-u"},
                             {"service_id", kService},
                             {"plan_id", plan},
                             {"previous_plan_id", previous},
                             {"parameters", std::move(parameters)},
                             {"instance_state", st}});
  };
  auto up = update(kLarge, kSmall, {{"extensions", {"citext"}}}, state);
  ASSERT_EQ(up.status, OSB_STATUS_OK) << up.error.value_or("");
  const json new_state = up.json()["instance_state"];
  EXPECT_EQ(new_state["plan_id"], kLarge);
  EXPECT_EQ(new_state["extensions"], json({"pgcrypto", "citext"}));
  EXPECT_EQ(database_row(env_, database)[1].as<int>(), 20);
  EXPECT_TRUE(contains(extensions_in(env_, database), "citext"));
  const std::string comment =
      admin_query(env_,
                  "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = '" +
                      database + "_owner'")[0][0]
          .as<std::string>();
  EXPECT_EQ(json::parse(comment)["osbd"]["plan_id"], kLarge);

  // A plan that does not allow an extension the instance has is refused; so are unknown plans.
  EXPECT_EQ(update(kBare, kLarge, json::object(), new_state).status, OSB_STATUS_UNPROCESSABLE);
  EXPECT_EQ(update(kSmall, kLarge, {{"extensions", {"citext"}}}, new_state).status,
            OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(update("no-such-plan", kLarge, json::object(), new_state).status,
            OSB_STATUS_BAD_REQUEST);
  EXPECT_EQ(database_row(env_, database)[1].as<int>(), 20);

  // Parameters alone (same plan) add an extension.
  auto params_only = update(kLarge, kLarge, {{"extensions", {"hstore"}}}, new_state);
  ASSERT_EQ(params_only.status, OSB_STATUS_OK) << params_only.error.value_or("");
  EXPECT_TRUE(contains(extensions_in(env_, database), "hstore"));
  EXPECT_EQ(update(kQuota, kLarge, json::object(), state).status, OSB_STATUS_UNPROCESSABLE);
  EXPECT_EQ(backend_
                ->update({{"instance_id", "no-such-instance"},
                          {"service_id", kService},
                          {"plan_id", kLarge},
                          {"previous_plan_id", kSmall}})
                .status,
            OSB_STATUS_UNPROCESSABLE);
}

TEST_F(PostgresqlPlugin, DatabaseOverQuotaTurnsReadOnlyForItsBindingsAndBack) {
  const json state = provision_ok("inst-q", kQuota);
  const json creds = bind_ok("inst-q", "bind-q", state, kQuota);
  const json bystander = bind_ok("inst-other", "b", provision_ok("inst-other", kQuota), kQuota);
  run_as(creds, "CREATE TABLE t (v text)");
  auto writable = [](const json& c) {
    for (int attempt = 0;; ++attempt) {
      try {
        run_as(c, "INSERT INTO t VALUES ('x')");
        return true;
      } catch (const pqxx::sql_error& e) {
        EXPECT_EQ(e.sqlstate(), "25006") << e.what();  // read_only_sql_transaction
        return false;
      } catch (const pqxx::broken_connection&) {
        // The monitor ended the session while it flipped the database; try again.
        if (attempt == 3) {
          throw;
        }
      }
    }
  };
  auto quota_warnings = [&] {
    int count = 0;
    for (const auto& line : host_.logs()) {
      count += line.level == OSB_LOG_WARN &&
               line.message.find(state["database"].get<std::string>()) != std::string::npos &&
               line.message.find("read-only") != std::string::npos;
    }
    return count;
  };
  ASSERT_TRUE(writable(creds));

  // About 5 MB more than the empty database's 7.4 MB: over the 10 MB quota.
  const auto start = std::chrono::steady_clock::now();
  run_as(creds, "CREATE TABLE big AS SELECT repeat('x', 1000) AS v FROM generate_series(1, 5000)");
  // quota_check_seconds is 1: enforcement follows within one interval plus one pass.
  EXPECT_TRUE(eventually([&] { return !writable(creds); }, std::chrono::seconds(15)));
  const auto enforced_after = std::chrono::steady_clock::now() - start;
  EXPECT_LT(enforced_after, std::chrono::seconds(5));
  run_as(bystander, "CREATE TABLE t (v text)");
  EXPECT_TRUE(writable(bystander)) << "only the database over quota is read-only";
  EXPECT_EQ(run_as(creds, "SELECT count(*) FROM big")[0][0].as<int>(), 5000) << "reads work";
  EXPECT_EQ(quota_warnings(), 1);
  auto usage = [&] {
    return backend_->usage({{"instance_id", "inst-q"},
                            {"service_id", kService},
                            {"plan_id", kQuota},
                            {"instance_state", state}});
  };
  const auto over = usage();
  ASSERT_EQ(over.status, OSB_STATUS_OK) << over.error.value_or("");
  EXPECT_GT(over.json()["bytes"].get<std::int64_t>(), 10 * 1024 * 1024);
  EXPECT_EQ(over.json()["quota_bytes"], 10 * 1024 * 1024);
  EXPECT_EQ(over.json()["over_quota"], true);
  EXPECT_EQ(over.json()["description"],
            "over its storage quota of 10 MB: read-only for its bindings until it is back under");

  // Removing the data (in an explicitly read-write transaction) brings it back under.
  run_as(creds, "BEGIN READ WRITE; DROP TABLE big; COMMIT");
  EXPECT_TRUE(eventually([&] { return writable(creds); }, std::chrono::seconds(15)));
  EXPECT_EQ(usage().json()["over_quota"], false);
  EXPECT_FALSE(usage().json().contains("description"));

  // A binding that resets the setting itself gets it back on the next pass.
  run_as(creds, "CREATE TABLE big AS SELECT repeat('x', 1000) AS v FROM generate_series(1, 5000)");
  EXPECT_TRUE(eventually([&] { return !writable(creds); }, std::chrono::seconds(15)));
  run_as(creds, "BEGIN READ WRITE; ALTER DATABASE \"" + state["database"].get<std::string>() +
                    "\" RESET default_transaction_read_only; COMMIT");
  EXPECT_TRUE(eventually([&] { return quota_warnings() == 3; }, std::chrono::seconds(15)));
  EXPECT_FALSE(writable(creds));

  // A plan without quota lifts it at once (the update wakes the monitor).
  auto up = backend_->update({{"instance_id", "inst-q"},
                              {"service_id", kService},
                              {"plan_id", kBare},
                              {"previous_plan_id", kQuota},
                              {"instance_state", state}});
  ASSERT_EQ(up.status, OSB_STATUS_OK) << up.error.value_or("");
  EXPECT_TRUE(eventually([&] { return writable(creds); }, std::chrono::seconds(15)));
}

TEST_F(PostgresqlPlugin, UsageOfUnknownInstancesAndPlansWithoutQuota) {
  auto unknown = backend_->usage(
      {{"instance_id", "never-provisioned"}, {"service_id", kService}, {"plan_id", kSmall}});
  ASSERT_EQ(unknown.status, OSB_STATUS_OK) << unknown.error.value_or("");
  EXPECT_EQ(unknown.json(), json::object());
  const json state = provision_ok("inst-usage");
  auto small = backend_->usage({{"instance_id", "inst-usage"},
                                {"service_id", kService},
                                {"plan_id", kSmall},
                                {"instance_state", state}});
  ASSERT_EQ(small.status, OSB_STATUS_OK) << small.error.value_or("");
  EXPECT_GT(small.json()["bytes"].get<std::int64_t>(), 1000000) << "an empty database is ~7 MB";
  EXPECT_FALSE(small.json().contains("quota_bytes")) << "plan small has no quota";
}

TEST_F(PostgresqlPlugin, UnbindHandsObjectsTheBindingOwnedToTheInstance) {
  const json state = provision_ok("inst-o");
  const json first = bind_ok("inst-o", "bind-1", state);
  const json second = bind_ok("inst-o", "bind-2", state);
  // As itself rather than as the owner role, the binding owns what it creates.
  run_as(first, "RESET ROLE; CREATE TABLE mine (v text); INSERT INTO mine VALUES ('data')");
  ASSERT_EQ(unbind("inst-o", "bind-1", state).status, OSB_STATUS_OK);
  EXPECT_EQ(admin_query(env_, "SELECT tableowner FROM pg_tables WHERE tablename = 'mine'",
                        state["database"])[0][0]
                .as<std::string>(),
            state["database"].get<std::string>() + "_owner");
  EXPECT_EQ(run_as(second, "SELECT v FROM mine")[0][0].as<std::string>(), "data");
}

TEST_F(PostgresqlPlugin, GrantsBetweenInstancesDoNotBlockUnbindOrDeprovision) {
  const json a = provision_ok("inst-a");
  const json b = provision_ok("inst-b");
  const json creds_a = bind_ok("inst-a", "bind-a", a);
  const json creds_b = bind_ok("inst-b", "bind-b", b);
  const std::string role_b = creds_b["username"];
  const std::string owner_b = b["database"].get<std::string>() + "_owner";
  // Instance a's binding grants things to instance b's roles; b must still go away cleanly.
  run_as(creds_a, "CREATE TABLE shared (v text); GRANT SELECT ON shared TO \"" + role_b +
                      "\"; GRANT SELECT ON shared TO \"" + owner_b +
                      "\"; GRANT CONNECT ON "
                      "DATABASE \"" +
                      a["database"].get<std::string>() + "\" TO \"" + role_b + "\"");
  EXPECT_EQ(unbind("inst-b", "bind-b", b).status, OSB_STATUS_OK);
  auto gone = deprovision("inst-b", b);
  EXPECT_EQ(gone.status, OSB_STATUS_OK) << gone.error.value_or("");
  EXPECT_TRUE(roles_with_prefix(env_, b["database"]).empty());
  run_as(creds_a, "INSERT INTO shared VALUES ('still mine')");
}

TEST_F(PostgresqlPlugin, CatalogListsTheConfiguredServiceAndPlans) {
  auto call = backend_->catalog();
  ASSERT_EQ(call.status, OSB_STATUS_OK);
  const json catalog = call.json();
  ASSERT_EQ(catalog["services"].size(), 1u);
  const json& service = catalog["services"][0];
  EXPECT_EQ(service["id"], kService);
  EXPECT_EQ(service["bindable"], true);
  EXPECT_EQ(service["plan_updateable"], true);
  ASSERT_EQ(service["plans"].size(), 4u);
  const json& small = service["plans"][0];
  EXPECT_EQ(small["id"], kSmall);
  EXPECT_EQ(small["schemas"]["service_instance"]["create"]["parameters"]["properties"]["extensions"]
                 ["items"]["enum"],
            json({"pgcrypto", "hstore"}));
  EXPECT_EQ(catalog.dump().find(env_.admin_password), std::string::npos);
}

// A plan whose first server is down: provisioning uses the other one.
class PostgresqlPluginWithADownServer : public PluginTest {
 protected:
  json config() override {
    return osbd_plugin_test::with_down_server(test_config(env_, prefix_),
                                              server_config("down", env_));
  }
};

TEST_F(PostgresqlPluginWithADownServer, PlacementSkipsItAndOperationsOnItAreBackendErrors) {
  const json state = provision_ok("inst-d", kSmall);
  EXPECT_EQ(state["server"], "main");
  EXPECT_TRUE(can_login(bind_ok("inst-d", "b", state)));
  EXPECT_EQ(deprovision("inst-d", state).status, OSB_STATUS_OK);

  auto call = provision("inst-e", kLarge);
  EXPECT_EQ(call.status, OSB_STATUS_BACKEND_ERROR);
  const std::string error = call.error.value_or("");
  EXPECT_NE(error.find("\"down\""), std::string::npos) << error;
  EXPECT_EQ(error.find(env_.admin_password), std::string::npos) << error;
  // Without state, deprovision must look at every server of the plan, and one is down.
  EXPECT_EQ(deprovision("inst-e", nullptr, kLarge).status, OSB_STATUS_BACKEND_ERROR);
}

}  // namespace
}  // namespace osbd_pg_test

#pragma once

// Drives the built osb_mysql.so through its C ABI, as osbd does, against the test server.

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <osb/sdk/fake_host.hpp>

#include "database_plugin_test.hpp"
#include "mysql_test_env.hpp"
#include "plugin_harness.hpp"

namespace osbd_mysql_test {

/// The test catalog's service id.
inline constexpr const char* kService = "6a1e9f3c-2b7d-4c8e-9f01-3d5e7a9b1c2d";
/// Plan "small": 3 connections per binding, no quota.
inline constexpr const char* kSmall = "b2c3d4e5-0001-4000-8000-000000000001";
/// Plan "large": 10 connections per binding, no quota.
inline constexpr const char* kLarge = "b2c3d4e5-0002-4000-8000-000000000002";
/// Plan "quota": 1 MB storage quota (an empty table takes 16 KB).
inline constexpr const char* kQuota = "b2c3d4e5-0003-4000-8000-000000000003";
/// Plan "bare": no limits.
inline constexpr const char* kBare = "b2c3d4e5-0004-4000-8000-000000000004";

/// The plugin library, loaded once per process like osbd loads it.
inline const osb_sdk_test::LoadedLibrary& plugin_library() {
  static const osb_sdk_test::LoadedLibrary library(OSBD_MYSQL_PLUGIN);
  return library;
}

/// The plugin table for host.
inline const osb_plugin_v1& plugin_table(const osb::sdk::testing::FakeHost& host) {
  return osbd_plugin_test::plugin_table(plugin_library(), host);
}

/// One plan entry of the test configuration.
inline nlohmann::json plan_config(const char* id, const char* name, int max_user_connections,
                                  int quota_mb) {
  return {{"id", id},
          {"name", name},
          {"description", std::string("test plan ") + name},
          {"servers", {"main"}},
          {"max_user_connections", max_user_connections},
          {"quota_mb", quota_mb}};
}

/// The test configuration: one server "main" at env, the four plans, prefix as name_prefix.
inline nlohmann::json test_config(const MysqlEnv& env, const std::string& prefix) {
  return {{"name_prefix", prefix},
          {"quota_check_seconds", 1},
          {"servers", {server_config("main", env)}},
          {"services",
           {{{"id", kService},
             {"name", "mysql-test"},
             {"description", "MySQL databases for tests"},
             {"plans",
              {plan_config(kSmall, "small", 3, 0), plan_config(kLarge, "large", 10, 0),
               plan_config(kQuota, "quota", 10, 1), plan_config(kBare, "bare", 0, 0)}}}}}};
}

/// Drops every database and user on env whose name starts with prefix.
inline void drop_everything(const MysqlEnv& env, const std::string& prefix) {
  auto connection = admin(env);
  for (const std::string& db : databases_with_prefix(env, prefix)) {
    exec(*connection, "DROP DATABASE IF EXISTS `" + db + "`");
  }
  for (const auto& row : rows_of(*connection,
                                 "SELECT User, Host FROM mysql.user "
                                 "WHERE LEFT(User, CHAR_LENGTH(?)) = ?",
                                 {prefix, prefix})) {
    exec(*connection, "DROP USER IF EXISTS '" + row[0] + "'@'" + row[1] + "'");
  }
}

/// A connection with a binding's credentials to its database (or to database when given);
/// throws sql::SQLException when the login fails.
inline std::unique_ptr<sql::Connection> login(const nlohmann::json& credentials,
                                              const std::string& database = "") {
  return connect(credentials.at("host"), credentials.at("port"), credentials.at("username"),
                 credentials.at("password"),
                 database.empty() ? credentials.at("name").get<std::string>() : database);
}

/// True when credentials log in.
inline bool can_login(const nlohmann::json& credentials) {
  try {
    login(credentials);
    return true;
  } catch (const sql::SQLException&) {
    return false;
  }
}

/// Runs sql as the binding of credentials in its database; returns the rows.
inline std::vector<std::vector<std::string>> run_as(const nlohmann::json& credentials,
                                                    const std::string& sql) {
  auto connection = login(credentials);
  return rows_of(*connection, sql);
}

/// What the shared fixture needs of this plugin and its server.
struct MysqlSuite {
  using Env = MysqlEnv;
  static Env env() { return mysql_env(); }
  static const char* service() { return kService; }
  static const char* default_plan() { return kSmall; }
  static const char* plugin() { return "org.osbd.mysql"; }
  static const char* server() { return "mariadb"; }
  static std::string describe(const Env& env) {
    return "MariaDB at " + env.host + ":" + std::to_string(env.port);
  }
  static std::string unreachable_reason(const Env& env) {
    return osbd_mysql_test::unreachable_reason(env);
  }
  static std::string unique_prefix() { return osbd_mysql_test::unique_prefix(); }
  static nlohmann::json test_config(const Env& env, const std::string& prefix) {
    return osbd_mysql_test::test_config(env, prefix);
  }
  static void drop_everything(const Env& env, const std::string& prefix) {
    osbd_mysql_test::drop_everything(env, prefix);
  }
  static const osb_plugin_v1& plugin_table(const osb::sdk::testing::FakeHost& host) {
    return osbd_mysql_test::plugin_table(host);
  }
};

/// A backend of the real plugin with a name prefix of its own; drops whatever it left behind.
using PluginTest = osbd_plugin_test::DatabasePluginTest<MysqlSuite>;

}  // namespace osbd_mysql_test

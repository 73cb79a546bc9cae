#pragma once

// Drives the built osb_postgresql.so through its C ABI, as osbd does, against the test server.

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <osb/sdk/fake_host.hpp>
#include <pqxx/pqxx>

#include "database_plugin_test.hpp"
#include "pg_test_env.hpp"
#include "plugin_harness.hpp"

namespace osbd_pg_test {

/// The test catalog's service id.
inline constexpr const char* kService = "5f3c7d2e-8a41-4b6f-9d0e-1c2b3a4d5e6f";
/// Plan "small": 5 connections, extensions pgcrypto and hstore, no quota.
inline constexpr const char* kSmall = "a1b2c3d4-0001-4000-8000-000000000001";
/// Plan "large": 20 connections, extensions pgcrypto, hstore and citext, no quota.
inline constexpr const char* kLarge = "a1b2c3d4-0002-4000-8000-000000000002";
/// Plan "quota": 10 MB storage quota (an empty database is about 7.4 MB).
inline constexpr const char* kQuota = "a1b2c3d4-0003-4000-8000-000000000003";
/// Plan "bare": no extensions.
inline constexpr const char* kBare = "a1b2c3d4-0004-4000-8000-000000000004";

/// The plugin library, loaded once per process like osbd loads it.
inline const osb_sdk_test::LoadedLibrary& plugin_library() {
  static const osb_sdk_test::LoadedLibrary library(OSBD_POSTGRESQL_PLUGIN);
  return library;
}

/// The plugin table for host.
inline const osb_plugin_v1& plugin_table(const osb::sdk::testing::FakeHost& host) {
  return osbd_plugin_test::plugin_table(plugin_library(), host);
}

/// One plan entry of the test configuration.
inline nlohmann::json plan_config(const char* id, const char* name, nlohmann::json servers,
                                  int connection_limit, int quota_mb, nlohmann::json extensions) {
  return {{"id", id},
          {"name", name},
          {"description", std::string("test plan ") + name},
          {"servers", std::move(servers)},
          {"connection_limit", connection_limit},
          {"quota_mb", quota_mb},
          {"extensions", std::move(extensions)}};
}

/// The test configuration: one server "main" at env, the four plans, prefix as name_prefix.
inline nlohmann::json test_config(const PgEnv& env, const std::string& prefix) {
  return {{"name_prefix", prefix},
          {"quota_check_seconds", 1},
          {"servers", {server_config("main", env)}},
          {"services",
           {{{"id", kService},
             {"name", "postgresql-test"},
             {"description", "PostgreSQL databases for tests"},
             {"plans",
              {plan_config(kSmall, "small", {"main"}, 5, 0, {"pgcrypto", "hstore"}),
               plan_config(kLarge, "large", {"main"}, 20, 0, {"pgcrypto", "hstore", "citext"}),
               plan_config(kQuota, "quota", {"main"}, 10, 10, nlohmann::json::array()),
               plan_config(kBare, "bare", {"main"}, -1, 0, nlohmann::json::array())}}}}}};
}

/// Drops every database and role on env whose name starts with prefix.
inline void drop_everything(const PgEnv& env, const std::string& prefix) {
  for (const std::string& db : databases_with_prefix(env, prefix)) {
    admin_query(env, "DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE)");
  }
  for (const std::string& role : roles_with_prefix(env, prefix)) {
    try {
      admin_query(env, "DROP ROLE IF EXISTS \"" + role + "\"");
    } catch (const std::exception&) {
      // Held by something outside the test's databases; left to the server's next start.
    }
  }
}

/// A connection with a binding's credentials (by its uri); throws when the login fails.
inline std::unique_ptr<pqxx::connection> login(const nlohmann::json& credentials) {
  return std::make_unique<pqxx::connection>(credentials.at("uri").get<std::string>() +
                                            "?sslmode=disable&connect_timeout=5");
}

/// A connection as the binding of credentials to database instead of its own.
inline std::unique_ptr<pqxx::connection> login_to(const nlohmann::json& credentials,
                                                  const std::string& database) {
  return std::make_unique<pqxx::connection>(conninfo(credentials.at("host"), credentials.at("port"),
                                                     credentials.at("username"),
                                                     credentials.at("password"), database));
}

/// True when credentials log in.
inline bool can_login(const nlohmann::json& credentials) {
  try {
    login(credentials);
    return true;
  } catch (const pqxx::broken_connection&) {
    return false;
  }
}

/// Runs sql as the binding of credentials; returns the result.
inline pqxx::result run_as(const nlohmann::json& credentials, const std::string& sql) {
  auto connection = login(credentials);
  pqxx::nontransaction tx(*connection);
  return tx.exec(sql);
}

/// What the shared fixture needs of this plugin and its server.
struct PgSuite {
  using Env = PgEnv;
  static Env env() { return pg_env(); }
  static const char* service() { return kService; }
  static const char* default_plan() { return kSmall; }
  static const char* plugin() { return "org.osbd.postgresql"; }
  static const char* server() { return "postgres"; }
  static std::string describe(const Env& env) {
    return "PostgreSQL at " + env.host + ":" + std::to_string(env.port);
  }
  static std::string unreachable_reason(const Env& env) {
    return osbd_pg_test::unreachable_reason(env);
  }
  static std::string unique_prefix() { return osbd_pg_test::unique_prefix(); }
  static nlohmann::json test_config(const Env& env, const std::string& prefix) {
    return osbd_pg_test::test_config(env, prefix);
  }
  static void drop_everything(const Env& env, const std::string& prefix) {
    osbd_pg_test::drop_everything(env, prefix);
  }
  static const osb_plugin_v1& plugin_table(const osb::sdk::testing::FakeHost& host) {
    return osbd_pg_test::plugin_table(host);
  }
};

/// A backend of the real plugin with a name prefix of its own; drops whatever it left behind.
using PluginTest = osbd_plugin_test::DatabasePluginTest<PgSuite>;

}  // namespace osbd_pg_test

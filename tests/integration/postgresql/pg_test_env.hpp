#pragma once

// The PostgreSQL server the tests run against: scripts/test-servers.sh starts it, and
// `scripts/test-servers.sh env postgres` prints the OSBD_PG_* variables read here (the defaults
// are the script's). Under CI=true an unreachable server fails the tests; elsewhere they skip.

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "server_env.hpp"

namespace osbd_pg_test {

/// Where the test server listens and how its admin logs in.
struct PgEnv {
  std::string host;            ///< OSBD_PG_HOST
  int port = 0;                ///< OSBD_PG_PORT
  std::string admin_user;      ///< OSBD_PG_ADMIN_USER
  std::string admin_password;  ///< OSBD_PG_ADMIN_PASSWORD
};

using osbd_plugin_test::env_or;
using osbd_plugin_test::in_ci;

/// The main test server (port OSBD_PG_PORT, default 25432).
inline PgEnv pg_env() {
  return {env_or("OSBD_PG_HOST", "127.0.0.1"), std::stoi(env_or("OSBD_PG_PORT", "25432")),
          env_or("OSBD_PG_ADMIN_USER", "osbd_admin"),
          env_or("OSBD_PG_ADMIN_PASSWORD", "osbd-test-admin-password")};
}

/// The second test server for placement tests (port OSBD_PG_PORT2, default 25433), started by a
/// CTest fixture.
inline PgEnv pg_env_second() {
  PgEnv env = pg_env();
  env.port = std::stoi(env_or("OSBD_PG_PORT2", "25433"));
  return env;
}

/// A libpq key/value connection string (values single-quoted).
inline std::string conninfo(const std::string& host, int port, const std::string& user,
                            const std::string& password, const std::string& database) {
  auto quote = [](const std::string& v) {
    std::string out = "'";
    for (char c : v) {
      if (c == '\\' || c == '\'') {
        out.push_back('\\');
      }
      out.push_back(c);
    }
    return out + "'";
  };
  return "host=" + quote(host) + " port=" + std::to_string(port) + " user=" + quote(user) +
         " password=" + quote(password) + " dbname=" + quote(database) +
         " sslmode=disable connect_timeout=5";
}

/// A connection string for the admin of env to database.
inline std::string admin_conninfo(const PgEnv& env, const std::string& database = "postgres") {
  return conninfo(env.host, env.port, env.admin_user, env.admin_password, database);
}

/// "" when env's server answers, else why not.
inline std::string unreachable_reason(const PgEnv& env) {
  try {
    pqxx::connection c(admin_conninfo(env));
    pqxx::nontransaction tx(c);
    tx.exec("SELECT 1");
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

/// Runs one query as admin and returns the result.
inline pqxx::result admin_query(const PgEnv& env, const std::string& sql,
                                const std::string& database = "postgres") {
  pqxx::connection c(admin_conninfo(env, database));
  pqxx::nontransaction tx(c);
  return tx.exec(sql);
}

/// The first column of every row of a query with one string parameter, as admin.
inline std::vector<std::string> admin_strings(const PgEnv& env, const std::string& sql,
                                              const std::string& parameter) {
  pqxx::connection c(admin_conninfo(env));
  pqxx::nontransaction tx(c);
  std::vector<std::string> out;
  for (const auto& row : tx.exec_params(sql, parameter)) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

/// Databases on env's server whose names start with prefix.
inline std::vector<std::string> databases_with_prefix(const PgEnv& env, const std::string& prefix) {
  return admin_strings(
      env, "SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1 ORDER BY 1",
      prefix);
}

/// Roles on env's server whose names start with prefix.
inline std::vector<std::string> roles_with_prefix(const PgEnv& env, const std::string& prefix) {
  return admin_strings(
      env, "SELECT rolname FROM pg_roles WHERE left(rolname, length($1)) = $1 ORDER BY 1", prefix);
}

/// A name prefix of its own for one test ("t" + 8 random hex digits + "_"), so that tests
/// running in parallel never see each other's databases, roles or quotas.
inline std::string unique_prefix() {
  return osbd_plugin_test::random_prefix(8, '_');
}

/// The plugin configuration of one server entry for env.
inline nlohmann::json server_config(const std::string& name, const PgEnv& env) {
  return {{"name", name},
          {"host", env.host},
          {"port", env.port},
          {"admin_user", env.admin_user},
          {"admin_password", env.admin_password},
          {"sslmode", "disable"}};
}

}  // namespace osbd_pg_test

/// In SetUp(): skips the test (fails it under CI=true) when env's server does not answer.
#define OSBD_REQUIRE_POSTGRES(env)                                                      \
  OSBD_REQUIRE_SERVER(::osbd_pg_test::unreachable_reason(env),                          \
                      "PostgreSQL at " + (env).host + ":" + std::to_string((env).port), \
                      "postgres")

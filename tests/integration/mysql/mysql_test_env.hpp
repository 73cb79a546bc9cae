#pragma once

// The MariaDB (or MySQL) server the tests run against: scripts/test-servers.sh starts it, and
// `scripts/test-servers.sh env mariadb` prints the OSBD_MYSQL_* variables read here (the
// defaults are the script's). Under CI=true an unreachable server fails the tests; elsewhere
// they skip.

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server_env.hpp"

namespace osbd_mysql_test {

/// Where the test server listens and how its admin logs in.
struct MysqlEnv {
  std::string host;            ///< OSBD_MYSQL_HOST
  int port = 0;                ///< OSBD_MYSQL_PORT
  std::string admin_user;      ///< OSBD_MYSQL_ADMIN_USER
  std::string admin_password;  ///< OSBD_MYSQL_ADMIN_PASSWORD
};

using osbd_plugin_test::env_or;
using osbd_plugin_test::in_ci;

/// The test server (port OSBD_MYSQL_PORT, default 23306).
inline MysqlEnv mysql_env() {
  return {env_or("OSBD_MYSQL_HOST", "127.0.0.1"), std::stoi(env_or("OSBD_MYSQL_PORT", "23306")),
          env_or("OSBD_MYSQL_ADMIN_USER", "osbd_admin"),
          env_or("OSBD_MYSQL_ADMIN_PASSWORD", "osbd-test-admin-password")};
}

/// A connection as user over TCP, to database when it is not empty; throws sql::SQLException
/// when the login fails.
inline std::unique_ptr<sql::Connection> connect(const std::string& host, int port,
                                                const std::string& user,
                                                const std::string& password,
                                                const std::string& database = "") {
  static sql::Driver* driver = sql::mysql::get_mysql_driver_instance();
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString("tcp://" + host + ":" + std::to_string(port));
  options["userName"] = sql::SQLString(user);
  options["password"] = sql::SQLString(password);
  options["OPT_CONNECT_TIMEOUT"] = 5;
  options["OPT_RECONNECT"] = false;
  if (!database.empty()) {
    options["schema"] = sql::SQLString(database);
  }
  return std::unique_ptr<sql::Connection>(driver->connect(options));
}

/// A connection as the admin of env.
inline std::unique_ptr<sql::Connection> admin(const MysqlEnv& env) {
  return connect(env.host, env.port, env.admin_user, env.admin_password);
}

/// Every row of sql (run on connection with ? bound to parameters), each column as text.
inline std::vector<std::vector<std::string>> rows_of(
    sql::Connection& connection, const std::string& sql,
    const std::vector<std::string>& parameters = {}) {
  std::unique_ptr<sql::PreparedStatement> statement(connection.prepareStatement(sql));
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    statement->setString(static_cast<unsigned int>(i + 1), parameters[i]);
  }
  std::vector<std::vector<std::string>> out;
  if (!statement->execute()) {
    return out;
  }
  std::unique_ptr<sql::ResultSet> result(statement->getResultSet());
  const unsigned int columns = result->getMetaData()->getColumnCount();
  while (result->next()) {
    std::vector<std::string> row;
    for (unsigned int c = 1; c <= columns; ++c) {
      row.push_back(result->isNull(c) ? std::string() : std::string(result->getString(c)));
    }
    out.push_back(std::move(row));
  }
  return out;
}

/// Runs sql (no result) on connection.
inline void exec(sql::Connection& connection, const std::string& sql) {
  std::unique_ptr<sql::Statement> statement(connection.createStatement());
  statement->execute(sql);
}

/// Runs one statement as the admin of env and returns its rows.
inline std::vector<std::vector<std::string>> admin_rows(
    const MysqlEnv& env, const std::string& sql, const std::vector<std::string>& parameters = {}) {
  auto connection = admin(env);
  return rows_of(*connection, sql, parameters);
}

/// The first column of admin_rows.
inline std::vector<std::string> admin_strings(const MysqlEnv& env, const std::string& sql,
                                              const std::vector<std::string>& parameters = {}) {
  std::vector<std::string> out;
  for (const auto& row : admin_rows(env, sql, parameters)) {
    out.push_back(row.at(0));
  }
  return out;
}

/// "" when env's server answers, else why not.
inline std::string unreachable_reason(const MysqlEnv& env) {
  try {
    admin_rows(env, "SELECT 1");
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

/// Databases on env's server whose names start with prefix.
inline std::vector<std::string> databases_with_prefix(const MysqlEnv& env,
                                                      const std::string& prefix) {
  return admin_strings(env,
                       "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
                       "WHERE LEFT(SCHEMA_NAME, CHAR_LENGTH(?)) = ? ORDER BY 1",
                       {prefix, prefix});
}

/// User names on env's server that start with prefix.
inline std::vector<std::string> users_with_prefix(const MysqlEnv& env, const std::string& prefix) {
  return admin_strings(
      env, "SELECT User FROM mysql.user WHERE LEFT(User, CHAR_LENGTH(?)) = ? ORDER BY 1",
      {prefix, prefix});
}

/// A name prefix of its own for one test ("t" + 4 random hex digits + "_"), so that tests
/// running in parallel never see each other's databases or users.
inline std::string unique_prefix() {
  return osbd_plugin_test::random_prefix(4, '_');
}

/// The plugin configuration of one server entry for env.
inline nlohmann::json server_config(const std::string& name, const MysqlEnv& env) {
  return {{"name", name},
          {"host", env.host},
          {"port", env.port},
          {"admin_user", env.admin_user},
          {"admin_password", env.admin_password}};
}

}  // namespace osbd_mysql_test

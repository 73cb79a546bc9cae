#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <osb/sdk/host.hpp>
#include <pqxx/pqxx>

#include "settings.hpp"

namespace osbd_postgresql {

/// A failure talking to a PostgreSQL server. The message is one line, names the server and is
/// safe to show to platform users (it never contains a password or a statement with one).
class DatabaseError : public std::runtime_error {
 public:
  /// message: the description; sqlstate: the server's error code ("" when unreachable).
  DatabaseError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}

  /// The SQLSTATE of the failed statement; empty when the server could not be reached.
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

/// The libpq connection string for the admin role of server and database (values quoted).
std::string admin_connection_string(const ServerSettings& server, const std::string& database);

/// One connection to one database of one server as the server's admin role. Statements run
/// outside of transactions (CREATE DATABASE needs that) and are logged at debug level; values go
/// as parameters, identifiers through name(). Not thread-safe: one session per operation.
class AdminSession {
 public:
  /// Connects; throws DatabaseError naming the server when it cannot.
  AdminSession(const ServerSettings& server, const std::string& database,
               const osb::sdk::Host& host);
  /// Not copyable.
  AdminSession(const AdminSession&) = delete;
  /// Not assignable.
  AdminSession& operator=(const AdminSession&) = delete;
  /// Closes the connection.
  ~AdminSession();

  /// Runs sql, which holds no secret and no values from requests; throws DatabaseError.
  pqxx::result exec(const std::string& sql);

  /// Runs sql with $1, $2, ... bound to args; throws DatabaseError.
  template <typename... Args>
  pqxx::result query(const std::string& sql, Args&&... args) {
    log(sql);
    try {
      return transaction_->exec_params(sql, std::forward<Args>(args)...);
    } catch (const std::exception& e) {
      throw translate(e, false);
    }
  }

  /// Runs sql, which contains a secret: the log shows redacted instead, and an error names only
  /// its SQLSTATE. Throws DatabaseError.
  void exec_secret(const std::string& sql, const std::string& redacted);

  /// Runs sql but treats an error with SQLSTATE ignored_sqlstate as success (for races such as
  /// two sessions creating the same role). Returns false when the error was ignored.
  bool exec_ignoring(const std::string& sql, const std::string& ignored_sqlstate);

  /// identifier quoted by the server's rules ("a""b").
  std::string name(const std::string& identifier);
  /// value as an SQL string literal, escaped by the server's rules.
  std::string literal(const std::string& value);

  /// The server this session is connected to.
  const ServerSettings& server() const noexcept { return server_; }

 private:
  void log(const std::string& sql) const;
  DatabaseError translate(const std::exception& e, bool secret) const;

  const ServerSettings& server_;
  std::string database_;
  const osb::sdk::Host& host_;
  std::unique_ptr<pqxx::connection> connection_;
  std::unique_ptr<pqxx::nontransaction> transaction_;
};

/// The first line of a libpq or server error message without its "ERROR:" label.
std::string first_line(const std::string& message);

}  // namespace osbd_postgresql

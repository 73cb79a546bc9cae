#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <osb/sdk/host.hpp>

#include "settings.hpp"

namespace sql {
class Connection;
class Driver;
}  // namespace sql

namespace osbd_mysql {

/// A failure talking to a MySQL or MariaDB server. The message is one line, names the server and
/// is safe to show to platform users (it never contains a password or a statement with one).
class DatabaseError : public std::runtime_error {
 public:
  /// message: the description; code: the server's error number (0 when unreachable).
  DatabaseError(const std::string& message, int code) : std::runtime_error(message), code_(code) {}

  /// The server's error number of the failed statement; 0 when the server could not be reached.
  int code() const noexcept { return code_; }

 private:
  int code_;
};

/// Server error ER_USER_LIMIT_REACHED: an account's MAX_USER_CONNECTIONS is used up.
inline constexpr int er_user_limit_reached = 1226;
/// Server error ER_NONEXISTING_GRANT: REVOKE of a grant that does not exist.
inline constexpr int er_nonexisting_grant = 1141;
/// Server error ER_NO_SUCH_THREAD: KILL of a session that has ended.
inline constexpr int er_no_such_thread = 1094;

/// One row of a result: every column as text, NULL as "".
using Row = std::vector<std::string>;

/// One connection to one server as its admin user, over TCP (with TLS as configured), outside
/// any transaction. Statements are logged at debug level; values go as parameters of prepared
/// statements, identifiers through name(), and the one value the server takes only as a literal
/// (the password of CREATE/ALTER USER) through literal(), escaped by the driver. Not thread-safe:
/// one session per operation.
class AdminSession {
 public:
  /// Connects; throws DatabaseError naming the server when it cannot.
  AdminSession(sql::Driver& driver, const ServerSettings& server, const osb::sdk::Host& host);
  /// Not copyable.
  AdminSession(const AdminSession&) = delete;
  /// Not assignable.
  AdminSession& operator=(const AdminSession&) = delete;
  /// Closes the connection.
  ~AdminSession();

  /// Runs sql, which holds no secret and no values from requests; throws DatabaseError.
  void exec(const std::string& sql);

  /// Runs sql with each ? bound to the next of parameters (as strings) and returns its rows
  /// (none for statements without a result); throws DatabaseError.
  std::vector<Row> query(const std::string& sql, const std::vector<std::string>& parameters = {});

  /// Runs sql, which contains a secret: the log shows redacted instead, and an error names only
  /// its error number. Throws DatabaseError.
  void exec_secret(const std::string& sql, const std::string& redacted);

  /// Runs sql but treats the server error ignored as success; returns false when it was ignored.
  bool exec_ignoring(const std::string& sql, int ignored);

  /// identifier quoted as `a``b`.
  static std::string name(const std::string& identifier);
  /// value as a single-quoted string literal, escaped by the driver for this connection.
  std::string literal(const std::string& value);
  /// 'user'@'host', both escaped by the driver.
  std::string account(const std::string& user, const std::string& host);

  /// Makes information_schema report current table sizes in this session (MySQL 8 caches them
  /// for a day by default; MariaDB has no such cache).
  void fresh_statistics();

  /// The server this session is connected to.
  const ServerSettings& server() const noexcept { return server_; }

 private:
  void log(const std::string& sql) const;
  DatabaseError translate(const std::exception& e, bool secret) const;

  const ServerSettings& server_;
  const osb::sdk::Host& host_;
  std::unique_ptr<sql::Connection> connection_;
};

/// Prepares the calling thread for the client library and releases what it kept at the end of
/// the scope (Connector/C++'s threadInit/threadEnd); one per plugin call or background pass.
class ThreadScope {
 public:
  /// Calls driver.threadInit().
  explicit ThreadScope(sql::Driver& driver);
  /// Not copyable.
  ThreadScope(const ThreadScope&) = delete;
  /// Not assignable.
  ThreadScope& operator=(const ThreadScope&) = delete;
  /// Calls driver.threadEnd().
  ~ThreadScope();

 private:
  sql::Driver& driver_;
};

/// The Connector/C++ driver, created once (call it first from the backend's constructor, which
/// never runs concurrently with anything).
sql::Driver& mysql_driver();

}  // namespace osbd_mysql

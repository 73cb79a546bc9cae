#include "admin_session.hpp"

#include <cppconn/connection.h>
#include <cppconn/driver.h>
#include <cppconn/exception.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>

#include <osb/plugins/uri.hpp>

namespace osbd_mysql {

namespace {

constexpr int read_timeout_seconds = 60;

std::string server_label(const ServerSettings& server) {
  return "MySQL server \"" + server.name + "\" (" + server.host + ":" +
         std::to_string(server.port) + ")";
}

// Appended to the description of a failure that is the server's state rather than the
// request's: osbd answers it with 502, and platforms show it to users, who should know that the
// same request can work later.
constexpr const char* retriable = "; the request can be retried once the server is available";

// Error numbers of a server that is unreachable, going away, overloaded or busy, not of a bad
// statement: the client's CR_CONNECTION_ERROR (2002), CR_CONN_HOST_ERROR (2003),
// CR_SERVER_GONE_ERROR (2006), CR_SERVER_LOST (2013) and CR_SERVER_LOST_EXTENDED (2055), and the
// server's ER_CON_COUNT_ERROR (1040), ER_SERVER_SHUTDOWN (1053), ER_LOCK_WAIT_TIMEOUT (1205),
// ER_LOCK_DEADLOCK (1213) and ER_CONNECTION_KILLED (1927).
bool transient_error(int code) {
  for (int transient : {2002, 2003, 2006, 2013, 2055, 1040, 1053, 1205, 1213, 1927}) {
    if (code == transient) {
      return true;
    }
  }
  return false;
}

// The first line of a driver message.
std::string first_line(const std::string& message) {
  return message.substr(0, message.find('\n'));
}

}  // namespace

sql::Driver& mysql_driver() {
  static sql::Driver* driver = sql::mysql::get_mysql_driver_instance();
  return *driver;
}

ThreadScope::ThreadScope(sql::Driver& driver) : driver_(driver) {
  driver_.threadInit();
}

ThreadScope::~ThreadScope() {
  driver_.threadEnd();
}

AdminSession::AdminSession(sql::Driver& driver, const ServerSettings& server,
                           const osb::sdk::Host& host)
    : server_(server), host_(host) {
  sql::ConnectOptionsMap options;
  options["hostName"] = sql::SQLString("tcp://" + osb::plugins::uri_host(server.host) + ":" +
                                       std::to_string(server.port));
  options["userName"] = sql::SQLString(server.admin_user);
  options["password"] = sql::SQLString(server.admin_password);
  options["OPT_CONNECT_TIMEOUT"] = static_cast<int>(server.connect_timeout_seconds);
  options["OPT_READ_TIMEOUT"] = read_timeout_seconds;
  options["OPT_WRITE_TIMEOUT"] = read_timeout_seconds;
  options["OPT_RECONNECT"] = false;
  options["CLIENT_MULTI_STATEMENTS"] = false;
  options["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
  if (server.tls != TlsMode::disabled) {
    options["sslEnforce"] = true;
  }
  if (server.tls == TlsMode::verify_identity) {
    options["sslVerify"] = true;
    options["sslCA"] = sql::SQLString(server.tls_ca_file);
  }
  try {
    connection_.reset(driver.connect(options));
  } catch (const sql::SQLException& e) {
    // The message may name the admin user but never holds the password.
    throw DatabaseError(server_label(server_) + " is unreachable: " + first_line(e.what()) +
                            " (error " + std::to_string(e.getErrorCode()) + ")" + retriable,
                        0);
  }
  if (!connection_) {
    throw DatabaseError(server_label(server_) + " is unreachable" + retriable, 0);
  }
}

AdminSession::~AdminSession() {
  try {
    if (connection_) {
      connection_->close();
    }
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): closing a broken link
  }
}

void AdminSession::exec(const std::string& sql) {
  log(sql);
  try {
    std::unique_ptr<sql::Statement> statement(connection_->createStatement());
    statement->execute(sql);
  } catch (const std::exception& e) {
    throw translate(e, false);
  }
}

std::vector<Row> AdminSession::query(const std::string& sql,
                                     const std::vector<std::string>& parameters) {
  log(sql);
  std::vector<Row> rows;
  try {
    std::unique_ptr<sql::PreparedStatement> statement(connection_->prepareStatement(sql));
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      statement->setString(static_cast<unsigned int>(i + 1), parameters[i]);
    }
    if (!statement->execute()) {
      return rows;
    }
    std::unique_ptr<sql::ResultSet> result(statement->getResultSet());
    const unsigned int columns = result->getMetaData()->getColumnCount();
    while (result->next()) {
      Row row;
      row.reserve(columns);
      for (unsigned int c = 1; c <= columns; ++c) {
        row.push_back(result->isNull(c) ? std::string() : std::string(result->getString(c)));
      }
      rows.push_back(std::move(row));
    }
  } catch (const std::exception& e) {
    throw translate(e, false);
  }
  return rows;
}

void AdminSession::exec_secret(const std::string& sql, const std::string& redacted) {
  log(redacted);
  try {
    std::unique_ptr<sql::Statement> statement(connection_->createStatement());
    statement->execute(sql);
  } catch (const std::exception& e) {
    throw translate(e, true);
  }
}

bool AdminSession::exec_ignoring(const std::string& sql, int ignored) {
  try {
    exec(sql);
    return true;
  } catch (const DatabaseError& e) {
    if (e.code() != ignored) {
      throw;
    }
    host_.debug("mysql " + server_.name + ": ignored error " + std::to_string(ignored));
    return false;
  }
}

std::string AdminSession::name(const std::string& identifier) {
  std::string out = "`";
  for (char c : identifier) {
    if (c == '`') {
      out.push_back('`');
    }
    out.push_back(c);
  }
  out.push_back('`');
  return out;
}

std::string AdminSession::literal(const std::string& value) {
  auto* mysql = dynamic_cast<sql::mysql::MySQL_Connection*>(connection_.get());
  if (mysql == nullptr) {
    throw DatabaseError(server_label(server_) + ": the driver cannot escape literals", 0);
  }
  return "'" + std::string(mysql->escapeString(value)) + "'";
}

std::string AdminSession::account(const std::string& user, const std::string& host) {
  return literal(user) + "@" + literal(host);
}

void AdminSession::fresh_statistics() {
  const std::vector<Row> version = query("SELECT VERSION()");
  const std::string text = version.empty() || version[0].empty() ? "" : version[0][0];
  const bool mariadb = text.find("MariaDB") != std::string::npos;
  if (!mariadb && !text.empty() && text[0] >= '8') {
    exec("SET SESSION information_schema_stats_expiry = 0");
  }
}

void AdminSession::log(const std::string& sql) const {
  host_.debug("mysql " + server_.name + ": " + sql);
}

DatabaseError AdminSession::translate(const std::exception& e, bool secret) const {
  if (const auto* error = dynamic_cast<const sql::SQLException*>(&e)) {
    const int code = error->getErrorCode();
    const std::string detail =
        secret ? std::string("a statement with a password failed") : first_line(error->what());
    return DatabaseError(server_label(server_) + ": " + detail + " (error " + std::to_string(code) +
                             ", SQLSTATE " + error->getSQLState() + ")" +
                             (transient_error(code) ? retriable : ""),
                         code);
  }
  return DatabaseError(
      server_label(server_) + ": " +
          (secret ? std::string("a statement with a password failed") : first_line(e.what())),
      0);
}

}  // namespace osbd_mysql

#include "admin_session.hpp"

namespace osbd_postgresql {

namespace {

// A value in a libpq connection string: single-quoted, with \ and ' escaped by a backslash.
std::string conninfo_value(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string server_label(const ServerSettings& server) {
  return "PostgreSQL server \"" + server.name + "\" (" + server.host + ":" +
         std::to_string(server.port) + ")";
}

// Appended to the description of a failure that is the server's state rather than the
// request's: osbd answers it with 502, and platforms show it to users, who should know that the
// same request can work later.
constexpr const char* retriable = "; the request can be retried once the server is available";

// SQLSTATEs of a server that is going away, starting or overloaded, not of a bad statement:
// connection exceptions (class 08), insufficient resources (class 53), and the server's shutdown,
// crash or start-up (57P01, 57P02, 57P03).
bool transient_sqlstate(const std::string& sqlstate) {
  return sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("53", 0) == 0 || sqlstate == "57P01" ||
         sqlstate == "57P02" || sqlstate == "57P03";
}

}  // namespace

std::string first_line(const std::string& message) {
  std::string line = message.substr(0, message.find('\n'));
  for (const char* label : {"ERROR:", "FATAL:"}) {
    if (line.rfind(label, 0) == 0) {
      line.erase(0, std::string(label).size());
    }
  }
  const std::size_t start = line.find_first_not_of(' ');
  return start == std::string::npos ? std::string() : line.substr(start);
}

std::string admin_connection_string(const ServerSettings& server, const std::string& database) {
  std::string text =
      "host=" + conninfo_value(server.host) +
      " port=" + conninfo_value(std::to_string(server.port)) +
      " dbname=" + conninfo_value(database) + " user=" + conninfo_value(server.admin_user) +
      " password=" + conninfo_value(server.admin_password) +
      " sslmode=" + conninfo_value(server.sslmode) +
      " connect_timeout=" + conninfo_value(std::to_string(server.connect_timeout_seconds)) +
      " application_name='osbd-postgresql'";
  if (!server.sslrootcert.empty()) {
    text += " sslrootcert=" + conninfo_value(server.sslrootcert);
  }
  // The admin's own statements are never read-only (the storage quota makes databases
  // read-only by default) and never wait forever.
  text += " options=" + conninfo_value(
                            "-c default_transaction_read_only=off -c statement_timeout=60000 "
                            "-c lock_timeout=30000");
  return text;
}

AdminSession::AdminSession(const ServerSettings& server, const std::string& database,
                           const osb::sdk::Host& host)
    : server_(server), database_(database), host_(host) {
  try {
    connection_ = std::make_unique<pqxx::connection>(admin_connection_string(server, database));
    transaction_ = std::make_unique<pqxx::nontransaction>(*connection_);
  } catch (const std::exception& e) {
    throw DatabaseError(
        server_label(server_) + " is unreachable: " + first_line(e.what()) + retriable, "");
  }
}

AdminSession::~AdminSession() {
  transaction_.reset();
  connection_.reset();
}

pqxx::result AdminSession::exec(const std::string& sql) {
  log(sql);
  try {
    return transaction_->exec(sql);
  } catch (const std::exception& e) {
    throw translate(e, false);
  }
}

void AdminSession::exec_secret(const std::string& sql, const std::string& redacted) {
  log(redacted);
  try {
    transaction_->exec(sql);
  } catch (const std::exception& e) {
    throw translate(e, true);
  }
}

bool AdminSession::exec_ignoring(const std::string& sql, const std::string& ignored_sqlstate) {
  try {
    exec(sql);
    return true;
  } catch (const DatabaseError& e) {
    if (e.sqlstate() != ignored_sqlstate) {
      throw;
    }
    host_.debug(server_.name + "/" + database_ + ": ignored SQLSTATE " + ignored_sqlstate);
    return false;
  }
}

std::string AdminSession::name(const std::string& identifier) {
  return connection_->quote_name(identifier);
}

std::string AdminSession::literal(const std::string& value) {
  return connection_->quote(value);
}

void AdminSession::log(const std::string& sql) const {
  host_.debug("postgresql " + server_.name + "/" + database_ + ": " + sql);
}

DatabaseError AdminSession::translate(const std::exception& e, bool secret) const {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string detail =
        secret ? std::string("a statement with a password failed") : first_line(sql->what());
    return DatabaseError(server_label(server_) + ": " + detail + " (SQLSTATE " + sql->sqlstate() +
                             ")" + (transient_sqlstate(sql->sqlstate()) ? retriable : ""),
                         sql->sqlstate());
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return DatabaseError(
        server_label(server_) + " closed the connection: " +
            (secret ? std::string("during a statement with a password") : first_line(e.what())) +
            retriable,
        "");
  }
  return DatabaseError(
      server_label(server_) + ": " +
          (secret ? std::string("a statement with a password failed") : first_line(e.what())),
      "");
}

}  // namespace osbd_postgresql

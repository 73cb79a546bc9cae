#include "sql_steps.hpp"

namespace osbd_postgresql {

bool role_exists(AdminSession& session, const std::string& role) {
  return !session.query("SELECT 1 FROM pg_roles WHERE rolname = $1", role).empty();
}

bool database_exists(AdminSession& session, const std::string& database) {
  return !session.query("SELECT 1 FROM pg_database WHERE datname = $1", database).empty();
}

long count_databases(AdminSession& session, const std::string& pattern) {
  return session.query("SELECT count(*) FROM pg_database WHERE datname ~ $1", pattern)[0][0]
      .as<long>();
}

std::vector<std::string> roles_matching(AdminSession& session, const std::string& pattern) {
  std::vector<std::string> roles;
  for (const pqxx::row& row :
       session.query("SELECT rolname FROM pg_roles WHERE rolname ~ $1 ORDER BY rolname", pattern)) {
    roles.push_back(row[0].as<std::string>());
  }
  return roles;
}

void terminate_sessions(AdminSession& session, const std::string& role) {
  session.query(
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
      "WHERE usename = $1 AND pid <> pg_backend_pid()",
      role);
}

void drop_role(AdminSession& session, const std::string& role, const std::string& database_pattern,
               const osb::sdk::Host& host) {
  const std::string drop = "DROP ROLE IF EXISTS " + session.name(role);
  if (session.exec_ignoring(drop, sqlstate_dependent_objects)) {
    return;
  }
  host.info("role " + role + " on server " + session.server().name +
            " still holds privileges elsewhere; revoking them in every database of this plugin");
  session.exec("DROP OWNED BY " + session.name(role));
  const pqxx::result databases = session.query(
      "SELECT datname FROM pg_database WHERE datname ~ $1 AND datallowconn", database_pattern);
  for (const pqxx::row& row : databases) {
    const std::string database = row[0].as<std::string>();
    try {
      AdminSession other(session.server(), database, host);
      if (role_exists(other, role)) {
        other.exec("DROP OWNED BY " + other.name(role));
      }
    } catch (const DatabaseError& e) {
      // A database dropped meanwhile is no longer in the way; anything else shows in DROP ROLE.
      host.debug(std::string("while revoking: ") + e.what());
    }
  }
  session.exec(drop);
}

}  // namespace osbd_postgresql

#include "sql_steps.hpp"

namespace osbd_mysql {

std::string grant_target(const std::string& database) {
  std::string escaped;
  for (char c : database) {
    if (c == '_' || c == '%' || c == '\\') {
      escaped.push_back('\\');
    }
    escaped.push_back(c);
  }
  return AdminSession::name(escaped) + ".*";
}

bool database_exists(AdminSession& session, const std::string& database) {
  return !session
              .query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", {database})
              .empty();
}

long count_databases(AdminSession& session, const std::string& pattern) {
  const std::vector<Row> rows = session.query(
      "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME REGEXP ?", {pattern});
  return rows.empty() ? 0 : std::stol(rows[0][0]);
}

namespace {

// True when the meta database and its table exist (they are made by the first provision).
bool meta_table_exists(AdminSession& session, const std::string& meta) {
  return !session
              .query(
                  "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND "
                  "TABLE_NAME = 'instances'",
                  {meta})
              .empty();
}

std::vector<Account> accounts(const std::vector<Row>& rows) {
  std::vector<Account> out;
  for (const Row& row : rows) {
    out.push_back({row[0], row[1]});
  }
  return out;
}

}  // namespace

std::vector<Account> accounts_matching(AdminSession& session, const std::string& pattern) {
  return accounts(session.query(
      "SELECT User, Host FROM mysql.user WHERE User REGEXP ? ORDER BY User, Host", {pattern}));
}

std::vector<Account> accounts_of(AdminSession& session, const std::string& user) {
  return accounts(
      session.query("SELECT User, Host FROM mysql.user WHERE User = ? ORDER BY Host", {user}));
}

void kill_sessions(AdminSession& session, const std::string& user) {
  const std::vector<Row> rows = session.query(
      "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()",
      {user});
  for (const Row& row : rows) {
    // A number read back from the server, never text from a request.
    const unsigned long long id = std::stoull(row[0]);
    session.exec_ignoring("KILL CONNECTION " + std::to_string(id), er_no_such_thread);
  }
}

std::int64_t database_size(AdminSession& session, const std::string& database) {
  const std::vector<Row> rows = session.query(
      "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES "
      "WHERE TABLE_SCHEMA = ?",
      {database});
  return rows.empty() || rows[0][0].empty() ? 0 : std::stoll(rows[0][0]);
}

void record_instance(AdminSession& session, const std::string& prefix, const std::string& database,
                     const std::string& plan_id, std::int64_t quota_mb) {
  const std::string meta = AdminSession::name(meta_database(prefix));
  session.exec("CREATE DATABASE IF NOT EXISTS " + meta + " CHARACTER SET utf8mb4");
  session.exec("CREATE TABLE IF NOT EXISTS " + meta +
               ".instances (database_name VARCHAR(64) NOT NULL PRIMARY KEY, "
               "plan_id VARCHAR(255) NOT NULL, quota_mb BIGINT NOT NULL)");
  session.query(
      "INSERT INTO " + meta +
          ".instances (database_name, plan_id, quota_mb) VALUES (?, ?, ?) "
          "ON DUPLICATE KEY UPDATE plan_id = VALUES(plan_id), quota_mb = VALUES(quota_mb)",
      {database, plan_id, std::to_string(quota_mb)});
}

std::vector<std::pair<std::string, InstanceRecord>> recorded_instances(AdminSession& session,
                                                                       const std::string& prefix) {
  std::vector<std::pair<std::string, InstanceRecord>> out;
  const std::string meta = meta_database(prefix);
  if (!meta_table_exists(session, meta)) {
    return out;
  }
  for (const Row& row : session.query("SELECT database_name, plan_id, quota_mb FROM " +
                                      AdminSession::name(meta) + ".instances")) {
    out.emplace_back(row[0], InstanceRecord{row[1], std::stoll(row[2])});
  }
  return out;
}

void forget_instance(AdminSession& session, const std::string& prefix,
                     const std::string& database) {
  const std::string meta = meta_database(prefix);
  if (!meta_table_exists(session, meta)) {
    return;
  }
  session.query("DELETE FROM " + AdminSession::name(meta) + ".instances WHERE database_name = ?",
                {database});
}

}  // namespace osbd_mysql

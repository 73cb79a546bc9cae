#include "quota_monitor.hpp"

#include <set>

#include "admin_session.hpp"
#include "names.hpp"

namespace osbd_mysql {

namespace {

// The user and host of a GRANTEE of information_schema ('user'@'host'); our user names and the
// configured hosts hold no quotes.
Account parse_grantee(const std::string& grantee) {
  const std::size_t at = grantee.find("'@'");
  if (grantee.size() < 5 || grantee.front() != '\'' || grantee.back() != '\'' ||
      at == std::string::npos) {
    return {};
  }
  return {grantee.substr(1, at - 1), grantee.substr(at + 3, grantee.size() - at - 4)};
}

// The privileges of the binding users of each database, from SCHEMA_PRIVILEGES: per database,
// per user, whether it may insert.
std::map<std::string, std::map<std::string, std::pair<Account, bool>>> binding_privileges(
    AdminSession& session, const std::string& prefix) {
  std::map<std::string, std::map<std::string, std::pair<Account, bool>>> out;
  // Grants name the database with _ escaped (see grant_target); unescape before matching.
  const std::vector<Row> rows = session.query(
      "SELECT GRANTEE, REPLACE(TABLE_SCHEMA, ?, '_'), PRIVILEGE_TYPE "
      "FROM information_schema.SCHEMA_PRIVILEGES "
      "WHERE REPLACE(TABLE_SCHEMA, ?, '_') REGEXP ? AND PRIVILEGE_TYPE IN ('SELECT', 'INSERT')",
      {"\\_", "\\_", database_pattern(prefix)});
  for (const Row& row : rows) {
    const Account account = parse_grantee(row[0]);
    if (account.user.empty()) {
      continue;
    }
    auto& entry = out[row[1]][row[0]];
    entry.first = account;
    entry.second = entry.second || row[2] == "INSERT";
  }
  return out;
}

}  // namespace

std::int64_t quota_bytes(const Settings& settings, const InstanceRecord& record) {
  if (auto plan = settings.plan(record.plan_id)) {
    return plan->plan->quota_mb * bytes_per_mb;
  }
  return record.quota_mb > 0 && record.quota_mb <= (std::int64_t{1} << 30)
             ? record.quota_mb * bytes_per_mb
             : 0;
}

QuotaMonitor::QuotaMonitor(const Settings& settings, const osb::sdk::Host& host,
                           sql::Driver& driver)
    : settings_(settings),
      host_(host),
      driver_(driver),
      task_(settings.quota_check_interval, [this] {
        ThreadScope thread(driver_);
        for (const ServerSettings& server : settings_.servers) {
          check_server(server);
        }
      }) {}

void QuotaMonitor::check_server(const ServerSettings& server) {
  osb::plugins::logged_check<DatabaseError>(
      host_, "quota check", server.name, last_error_[server.name], [&] {
        AdminSession session(driver_, server, host_);
        const auto instances = recorded_instances(session, settings_.name_prefix);
        if (instances.empty()) {
          return;
        }
        session.fresh_statistics();
        std::map<std::string, std::int64_t> sizes;
        for (const Row& row : session.query(
                 "SELECT TABLE_SCHEMA, COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) "
                 "FROM information_schema.TABLES WHERE TABLE_SCHEMA REGEXP ? GROUP BY TABLE_SCHEMA",
                 {database_pattern(settings_.name_prefix)})) {
          sizes[row[0]] = row[1].empty() ? 0 : std::stoll(row[1]);
        }
        const auto privileges = binding_privileges(session, settings_.name_prefix);
        for (const auto& [database, record] : instances) {
          const auto users = privileges.find(database);
          if (users == privileges.end()) {
            continue;  // no bindings
          }
          const std::int64_t size = sizes.count(database) != 0 ? sizes.at(database) : 0;
          const std::int64_t quota = quota_bytes(settings_, record);
          const bool over = quota > 0 && size > quota;
          // Only this instance's binding users, whatever else was granted on the database.
          const std::string stem = database.substr(0, settings_.name_prefix.size() + 16);
          std::vector<Account> changed;
          for (const auto& [grantee, entry] : users->second) {
            const auto& [account, may_insert] = entry;
            if (account.user.rfind(stem + "_", 0) != 0 || may_insert == !over) {
              continue;
            }
            const std::string target = grant_target(database);
            const std::string who = session.account(account.user, account.host);
            if (over) {
              session.exec_ignoring(
                  std::string("REVOKE ") + quota_privileges + " ON " + target + " FROM " + who,
                  er_nonexisting_grant);
            } else {
              session.exec(std::string("GRANT ") + quota_privileges + " ON " + target + " TO " +
                           who);
            }
            changed.push_back(account);
          }
          for (const Account& account : changed) {
            kill_sessions(session, account.user);
          }
          if (changed.empty()) {
            continue;
          }
          if (over) {
            host_.warn(
                "database " + database + " on server " + server.name + " uses " +
                std::to_string(size) + " bytes, over its quota of " + std::to_string(quota) +
                " bytes: its bindings lost INSERT, UPDATE and CREATE until it is back under");
          } else {
            host_.info("database " + database + " on server " + server.name + " uses " +
                       std::to_string(size) + " bytes, within its quota of " +
                       std::to_string(quota) + " bytes: its bindings may write again");
          }
        }
      });
}

}  // namespace osbd_mysql

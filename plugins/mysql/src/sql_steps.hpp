#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "admin_session.hpp"
#include "names.hpp"

namespace osbd_mysql {

/// A user account: name and host.
struct Account {
  std::string user;  ///< user name
  std::string host;  ///< host part ('%' for any)
};

/// database as it goes into GRANT and REVOKE ... ON `db`.*: there _ and % are wildcards, so they
/// are escaped with a backslash (an unescaped `osb_x`.* would also match `osbax`).
std::string grant_target(const std::string& database);

/// True when the database exists on the session's server.
bool database_exists(AdminSession& session, const std::string& database);

/// Number of databases on the session's server whose names match pattern (a regex).
long count_databases(AdminSession& session, const std::string& pattern);

/// The accounts whose user name matches pattern (a regex).
std::vector<Account> accounts_matching(AdminSession& session, const std::string& pattern);

/// The accounts of user (one per host it was created for).
std::vector<Account> accounts_of(AdminSession& session, const std::string& user);

/// Ends every session of user (KILL CONNECTION), other than the session's own.
void kill_sessions(AdminSession& session, const std::string& user);

/// Data plus index length of every table of database, from information_schema.TABLES.
std::int64_t database_size(AdminSession& session, const std::string& database);

/// The bookkeeping row of an instance in the meta database.
struct InstanceRecord {
  std::string plan_id;        ///< the plan it was provisioned with or last updated to
  std::int64_t quota_mb = 0;  ///< that plan's quota when it was recorded
};

/// Creates the meta database and its table if needed, and records database's plan and quota.
void record_instance(AdminSession& session, const std::string& prefix, const std::string& database,
                     const std::string& plan_id, std::int64_t quota_mb);

/// Every recorded instance of the meta database (empty when there is none yet), by database.
std::vector<std::pair<std::string, InstanceRecord>> recorded_instances(AdminSession& session,
                                                                       const std::string& prefix);

/// Removes database's row from the meta database (if there is one).
void forget_instance(AdminSession& session, const std::string& prefix, const std::string& database);

}  // namespace osbd_mysql

#pragma once

#include <string>
#include <vector>

#include <osb/sdk/host.hpp>

#include "admin_session.hpp"
#include "settings.hpp"

namespace osbd_postgresql {

/// SQLSTATE duplicate_object: CREATE ROLE of a role that exists.
inline constexpr const char* sqlstate_duplicate_object = "42710";
/// SQLSTATE duplicate_database: CREATE DATABASE of a database that exists.
inline constexpr const char* sqlstate_duplicate_database = "42P04";
/// SQLSTATE dependent_objects_still_exist: DROP ROLE of a role that still owns or holds
/// something.
inline constexpr const char* sqlstate_dependent_objects = "2BP01";

/// True when the role exists on the session's server.
bool role_exists(AdminSession& session, const std::string& role);

/// True when the database exists on the session's server.
bool database_exists(AdminSession& session, const std::string& database);

/// Number of databases on the session's server whose names match pattern (a regex).
long count_databases(AdminSession& session, const std::string& pattern);

/// Names of the roles on the session's server matching pattern (a regex).
std::vector<std::string> roles_matching(AdminSession& session, const std::string& pattern);

/// Ends every session that logged in as role, waiting up to 5 s for each to exit.
void terminate_sessions(AdminSession& session, const std::string& role);

/// Drops role if it exists. When something still depends on it (privileges another instance's
/// binding granted it in that instance's database, say), runs DROP OWNED BY role in every
/// database of this plugin on the server (those matching database_pattern) and in the session's
/// database, then drops it again.
void drop_role(AdminSession& session, const std::string& role, const std::string& database_pattern,
               const osb::sdk::Host& host);

}  // namespace osbd_postgresql

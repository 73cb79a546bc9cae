#pragma once

#include <span>

#include "state/sqlite_db.hpp"

namespace osbd::state::sqlite {

/// One schema change: the SQL that takes the schema from version - 1 to version.
struct Migration {
  int version;      ///< schema version after this migration; consecutive from 1
  const char* sql;  ///< statements run inside the migration's transaction
};

/// Every migration this build knows, in order.
std::span<const Migration> migrations() noexcept;

/// The newest schema version this build knows.
int latest_schema_version() noexcept;

/// The version recorded in schema_migrations (0 for a fresh database).
int current_schema_version(Database& db);

/// Brings db up to latest_schema_version(), one transaction per migration. Throws StoreError if
/// the database is at a newer version than this build knows.
void migrate(Database& db);

}  // namespace osbd::state::sqlite

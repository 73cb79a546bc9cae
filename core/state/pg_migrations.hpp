#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <pqxx/transaction>

#include "state/pg_pool.hpp"

namespace osbd::state::pg {

/// One schema change: the SQL that takes the schema from version - 1 to version.
struct Migration {
  int version;      ///< schema version after this migration; consecutive from 1
  const char* sql;  ///< statements run inside the migration's transaction
};

/// Key of the transaction-level advisory lock under which migrations are applied: replicas
/// starting at once take turns, and each migration is applied once.
inline constexpr int64_t kMigrationLock = 0x6f73626400000001;  // "osbd", 1
/// Key of the advisory lock under which binding responses are resealed at start-up.
inline constexpr int64_t kResealLock = 0x6f73626400000002;  // "osbd", 2

/// Every migration this build knows, in order.
std::span<const Migration> migrations() noexcept;

/// The newest schema version this build knows.
int latest_schema_version() noexcept;

/// The version recorded in schema_migrations, which must exist (0 when it is empty).
int current_schema_version(Transaction& tx);

/// Waits for the advisory lock key, held until tx ends.
void lock_for_transaction(Transaction& tx, int64_t key);

/// Brings the database up to latest_schema_version(), one transaction per migration, each under
/// kMigrationLock. Throws StoreError if the database is at a newer version than this build knows.
void migrate(ConnectionPool& pool);

}  // namespace osbd::state::pg

#pragma once

#include <sys/stat.h>

#include <string>

#include "state/sqlite_db.hpp"

namespace osbd::state::sqlite {

/// Creates data_dir (owner-only) if missing and the database file data_dir/osbd.db with mode
/// 0600, before SQLite touches it: SQLite gives its -wal and -shm files the mode of the database
/// file, and bindings hold credentials. Returns the database file's path; throws StoreError.
std::string prepare_files(const std::string& data_dir);

/// Sets up the write connection: WAL, synchronous FULL, checkpoint interval, foreign keys.
void configure(Database& db);

/// The database file at path as it is now; throws StoreError naming the path.
struct stat stat_file(const std::string& path);

/// Throws StoreError unless the file at path is still the one opened: a volume unmounted or a data
/// directory moved away leaves the connections working on a file nobody will see again.
void check_same_file(const std::string& path, const struct stat& opened);

/// Throws StoreError when the file system of path has too little room left for writes.
void check_free_space(const std::string& path);

}  // namespace osbd::state::sqlite

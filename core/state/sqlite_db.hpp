#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace osbd::state::sqlite {

/// How a connection may use its database file.
enum class Access {
  read_write,  ///< creates the file if missing; the store's one writer and its migrations
  read_only,   ///< the file must exist; SQLite itself refuses every write on the connection
};

/// One open SQLite connection. Not thread-safe: the owner serializes all use of it.
///
/// It keeps the statements it prepared for reuse: the store runs the same few statements over and
/// over, and parsing them again each time would be a large part of a write's CPU time.
class Database {
 public:
  /// Opens the database file at path; throws StoreError naming the path.
  explicit Database(std::string path, Access access = Access::read_write);
  /// Finalizes the kept statements and closes the connection.
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs one or more SQL statements that take no parameters and return no rows of interest.
  void exec(const char* sql, std::string_view what);
  /// Rows changed by the most recent INSERT, UPDATE or DELETE on this connection.
  int changes() const noexcept;
  /// True while no explicit transaction is open on this connection.
  bool autocommit() const noexcept;
  /// The file this connection was opened on, for error messages.
  const std::string& path() const noexcept { return path_; }
  /// The raw handle, for the wrappers below.
  sqlite3* handle() const noexcept { return db_; }

  /// The text of a StoreError about this database: the path, what was being done and, unless
  /// empty, a detail. Callers pass only details that hold no row contents.
  std::string describe(std::string_view what, std::string_view detail) const;
  /// Throws StoreError naming the path, what was being done, and SQLite's message for rc. Row
  /// contents never appear: SQLite's messages name tables and columns, not values.
  [[noreturn]] void fail(std::string_view what, int rc) const;
  /// Throws StoreError naming the path and a message of the store's own.
  [[noreturn]] void fail(std::string_view what) const;

 private:
  friend class Statement;

  // Hashes std::string and string_view alike, so that lookups need not copy the SQL text.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view sql) const noexcept {
      return std::hash<std::string_view>{}(sql);
    }
  };

  // A prepared statement for sql, reset and unbound: a kept one if idle, else a new one.
  sqlite3_stmt* take_statement(std::string_view sql, std::string_view what);
  // Resets stmt and keeps it for the next Statement on the same sql, or finalizes it.
  void return_statement(std::string_view sql, sqlite3_stmt* stmt) noexcept;

  std::string path_;
  sqlite3* db_ = nullptr;
  // Idle prepared statements by SQL text; a statement in use is absent (or null) until returned.
  std::unordered_map<std::string, sqlite3_stmt*, SqlHash, std::equal_to<>> kept_;
};

/// One prepared statement, reset and handed back to its connection on destruction. Resetting ends
/// the statement's implicit read transaction, so a finished Statement never pins a snapshot.
class Statement {
 public:
  /// Prepares sql on db (or reuses one db kept); throws StoreError on a syntax error or an
  /// unusable database. sql must stay valid until the Statement is destroyed.
  Statement(Database& db, const char* sql, std::string_view what);
  /// Resets the statement and gives it back to the connection.
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// The connection the statement belongs to, for error messages.
  const Database& database() const noexcept { return db_; }

  /// Binds text to the named parameter (":name"); the text is copied.
  Statement& bind(const char* name, std::string_view value);
  /// Binds text, or SQL NULL when value is nullopt.
  Statement& bind_nullable(const char* name, const std::optional<std::string>& value);
  /// Binds an integer to the named parameter.
  Statement& bind(const char* name, int64_t value);
  /// Binds a boolean as 0 or 1.
  Statement& bind_bool(const char* name, bool value);

  /// Advances to the next row: true if a row is available, false when done.
  bool step();
  /// Runs a statement that returns no rows.
  void run();

  /// Text of column i of the current row ("" for NULL).
  std::string text(int i) const;
  /// Text of column i, or nullopt for NULL.
  std::optional<std::string> optional_text(int i) const;
  /// Integer value of column i (0 for NULL).
  int64_t integer(int i) const;
  /// True if column i of the current row is NULL.
  bool is_null(int i) const;

 private:
  int index_of(const char* name) const;

  Database& db_;
  std::string_view sql_;
  std::string what_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// A write transaction started with BEGIN IMMEDIATE, so the write lock is taken up front and
/// decisions made inside it cannot be invalidated by another connection. Rolled back on
/// destruction unless committed.
class Transaction {
 public:
  /// Begins the transaction; throws StoreError if the write lock cannot be had.
  explicit Transaction(Database& db);
  /// Rolls back if commit() was not reached.
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  /// Commits; once this returns the change is durable.
  void commit();

 private:
  Database& db_;
  bool committed_ = false;
};

}  // namespace osbd::state::sqlite

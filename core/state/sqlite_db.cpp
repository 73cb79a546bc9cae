#include "state/sqlite_db.hpp"

#include <sqlite3.h>

#include <utility>

#include "state/store.hpp"

namespace osbd::state::sqlite {

namespace {

std::string message(const std::string& path, std::string_view what, std::string_view detail) {
  std::string m = "osbd state store ";
  m += path;
  m += ": ";
  m += what;
  if (!detail.empty()) {
    m += ": ";
    m += detail;
  }
  return m;
}

}  // namespace

Database::Database(std::string path, Access access) : path_(std::move(path)) {
  // The store never lets two threads use one connection at a time, so SQLite's per-call locking
  // would only add cost.
  const int flags = SQLITE_OPEN_NOMUTEX |
                    (access == Access::read_write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                  : SQLITE_OPEN_READONLY);
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(message(path_, "cannot open database", detail));
  }
  sqlite3_extended_result_codes(db_, 1);
}

Database::~Database() {
  // Every Statement has given its statement back before this runs, so once the kept ones are
  // finalized close cannot be refused.
  for (auto& [sql, stmt] : kept_) {
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db_);
}

sqlite3_stmt* Database::take_statement(std::string_view sql, std::string_view what) {
  if (auto it = kept_.find(sql); it != kept_.end() && it->second != nullptr) {
    return std::exchange(it->second, nullptr);
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    fail(what, rc);
  }
  return stmt;
}

void Database::return_statement(std::string_view sql, sqlite3_stmt* stmt) noexcept {
  // The result of reset repeats the statement's last error, which its user has seen already.
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  // The store uses a few dozen distinct statements; the bound only guards against a caller that
  // builds SQL text with values in it, which would otherwise grow the map without end.
  constexpr size_t kMaxKept = 64;
  try {
    auto it = kept_.find(sql);
    if (it == kept_.end() && kept_.size() < kMaxKept) {
      it = kept_.emplace(std::string(sql), nullptr).first;
    }
    if (it != kept_.end() && it->second == nullptr) {
      it->second = stmt;
      return;
    }
  } catch (...) {
    // Out of memory: the statement is simply not kept.
  }
  sqlite3_finalize(stmt);
}

void Database::exec(const char* sql, std::string_view what) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string detail = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw StoreError(message(path_, what, detail));
  }
}

int Database::changes() const noexcept {
  return sqlite3_changes(db_);
}

bool Database::autocommit() const noexcept {
  return sqlite3_get_autocommit(db_) != 0;
}

std::string Database::describe(std::string_view what, std::string_view detail) const {
  return message(path_, what, detail);
}

void Database::fail(std::string_view what, int rc) const {
  // sqlite3_errmsg describes the most recent failure on this connection, which is the one being
  // reported: no other thread uses the connection from the failing call to here.
  const char* detail = sqlite3_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  throw StoreError(message(path_, what, detail));
}

void Database::fail(std::string_view what) const {
  throw StoreError(message(path_, what, {}));
}

Statement::Statement(Database& db, const char* sql, std::string_view what)
    : db_(db), sql_(sql), what_(what), stmt_(db_.take_statement(sql_, what_)) {}

Statement::~Statement() {
  db_.return_statement(sql_, stmt_);
}

int Statement::index_of(const char* name) const {
  const int i = sqlite3_bind_parameter_index(stmt_, name);
  if (i == 0) {
    db_.fail(what_ + ": statement has no parameter " + name);
  }
  return i;
}

Statement& Statement::bind(const char* name, std::string_view value) {
  // A null data pointer would bind SQL NULL; an empty view still means the empty string.
  const char* data = value.data() != nullptr ? value.data() : "";
  const int rc =
      sqlite3_bind_text64(stmt_, index_of(name), data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) {
    db_.fail(what_, rc);
  }
  return *this;
}

Statement& Statement::bind_nullable(const char* name, const std::optional<std::string>& value) {
  if (value) {
    return bind(name, std::string_view(*value));
  }
  const int rc = sqlite3_bind_null(stmt_, index_of(name));
  if (rc != SQLITE_OK) {
    db_.fail(what_, rc);
  }
  return *this;
}

Statement& Statement::bind(const char* name, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index_of(name), value);
  if (rc != SQLITE_OK) {
    db_.fail(what_, rc);
  }
  return *this;
}

Statement& Statement::bind_bool(const char* name, bool value) {
  return bind(name, static_cast<int64_t>(value ? 1 : 0));
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  db_.fail(what_, rc);
}

void Statement::run() {
  while (step()) {
  }
}

std::string Statement::text(int i) const {
  const auto* p = sqlite3_column_text(stmt_, i);
  if (p == nullptr) {
    return {};
  }
  const int n = sqlite3_column_bytes(stmt_, i);
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

std::optional<std::string> Statement::optional_text(int i) const {
  if (is_null(i)) {
    return std::nullopt;
  }
  return text(i);
}

int64_t Statement::integer(int i) const {
  return sqlite3_column_int64(stmt_, i);
}

bool Statement::is_null(int i) const {
  return sqlite3_column_type(stmt_, i) == SQLITE_NULL;
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE", "begin");
}

Transaction::~Transaction() {
  // A failed COMMIT can leave the transaction open; a failed statement inside it usually does.
  // Either way nothing of it may stay behind, and a destructor cannot report, so errors here are
  // dropped: the next BEGIN would surface a connection that is still unusable.
  if (!committed_ && !db_.autocommit()) {
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

void Transaction::commit() {
  db_.exec("COMMIT", "commit");
  committed_ = true;
}

}  // namespace osbd::state::sqlite

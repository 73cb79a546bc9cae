#include "store_backends.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "state/secret_box.hpp"
#include "test_support.hpp"

namespace osbd::state::testing {

namespace {

/// SQL's single-quoted literal of text.
std::string sql_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    out += c;
    if (c == '\'') {
      out += '\'';
    }
  }
  return out + "'";
}

// --- SQLite -------------------------------------------------------------------------------------

/// A data directory that does not exist yet (the store creates it) and its default keys: the
/// store's own data_dir/credentials.key.
class SqliteBackend final : public StoreBackend {
 public:
  Backend kind() const override { return Backend::sqlite; }

  std::unique_ptr<Store> open(const SealingOptions& sealing) override {
    return open_sqlite_store(dir_.data_dir(), sealing);
  }
  SealingOptions default_sealing() const override { return {}; }
  std::string default_key_file() const override { return dir_.data_dir() + "/credentials.key"; }
  const std::string& scratch_dir() const override { return dir_.path(); }

  void raw_exec(const std::string& sql) override {
    sqlite3* db = connect();
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    const std::string message = err != nullptr ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    if (rc != SQLITE_OK) {
      throw std::runtime_error("raw_exec on " + dir_.db_file() + ": " + message);
    }
  }

  std::string raw_query(const std::string& sql) override {
    sqlite3* db = connect();
    sqlite3_stmt* st = nullptr;
    std::string out = "<no row>";
    const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
    const std::string message = sqlite3_errmsg(db);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(st, 0);
      out = text != nullptr ? reinterpret_cast<const char*>(text) : "<null>";
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc != SQLITE_OK) {
      throw std::runtime_error("raw_query on " + dir_.db_file() + ": " + message);
    }
    return out;
  }

  std::string secret() const override { return {}; }

 private:
  sqlite3* connect() {
    sqlite3* db = nullptr;
    if (sqlite3_open(dir_.db_file().c_str(), &db) != SQLITE_OK) {
      const std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      throw std::runtime_error("cannot open " + dir_.db_file() + ": " + message);
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
  }

  TempDir dir_;
};

// --- PostgreSQL ---------------------------------------------------------------------------------

/// The server the tests run against, as the OSBD_PG_* variables name it.
struct PgServer {
  std::string host;
  unsigned port = 0;
  std::string admin_user;
  std::string admin_password;
};

constexpr const char* kStartServerHint =
    "start the test server first: `bash scripts/test-servers.sh start postgres && eval "
    "\"$(bash scripts/test-servers.sh env postgres)\"` in the source tree (scripts/test.sh does "
    "both), or set OSBD_TEST_NO_POSTGRES=1 to skip the PostgreSQL store tests";

/// A libpq key/value connection string (values single-quoted).
std::string conninfo(const PgServer& server, const std::string& database) {
  auto quote = [](const std::string& v) {
    std::string out = "'";
    for (char c : v) {
      if (c == '\\' || c == '\'') {
        out.push_back('\\');
      }
      out.push_back(c);
    }
    return out + "'";
  };
  return "host=" + quote(server.host) + " port=" + std::to_string(server.port) +
         " user=" + quote(server.admin_user) + " password=" + quote(server.admin_password) +
         " dbname=" + quote(database) + " sslmode=disable connect_timeout=5";
}

/// SQL's double-quoted identifier.
std::string sql_identifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

/// Runs sql as the admin on database, outside any transaction (CREATE/DROP DATABASE need that).
pqxx::result admin_exec(const PgServer& server, const std::string& database,
                        const std::string& sql) {
  pqxx::connection c(conninfo(server, database));
  pqxx::nontransaction tx(c);
  return tx.exec(sql);
}

class PostgresBackendImpl final : public PostgresBackend {
 public:
  /// Creates the database; throws what pqxx throws when it cannot.
  PostgresBackendImpl(PgServer server, std::string database)
      : server_(std::move(server)), database_(std::move(database)) {
    // The store needs a key file given to it: every replica has to seal with the same key.
    SecretBox::load_key_file(default_key_file(), true);
    admin_exec(server_, "postgres", "CREATE DATABASE " + sql_identifier(database_));
    created_ = true;
  }

  ~PostgresBackendImpl() override {
    if (!created_) {
      return;
    }
    try {
      admin_exec(server_, "postgres",
                 "DROP DATABASE IF EXISTS " + sql_identifier(database_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot drop the test database " << database_ << ": " << e.what();
    }
  }

  Backend kind() const override { return Backend::postgres; }

  std::unique_ptr<Store> open(const SealingOptions& sealing) override {
    return open_postgres_store(options(), sealing);
  }
  SealingOptions default_sealing() const override { return {default_key_file(), {}}; }
  std::string default_key_file() const override { return dir_.path() + "/credentials.key"; }
  const std::string& scratch_dir() const override { return dir_.path(); }

  void raw_exec(const std::string& sql) override { admin_exec(server_, database_, sql); }

  std::string raw_query(const std::string& sql) override {
    const pqxx::result r = admin_exec(server_, database_, sql);
    if (r.empty()) {
      return "<no row>";
    }
    if (r[0][0].is_null()) {
      return "<null>";
    }
    return r[0][0].c_str();
  }

  std::string secret() const override { return server_.admin_password; }

  PostgresOptions options() const override {
    PostgresOptions o;
    o.host = server_.host;
    o.port = server_.port;
    o.database = database_;
    o.user = server_.admin_user;
    o.password = server_.admin_password;
    o.sslmode = "disable";
    return o;
  }

  int terminate_connections() override {
    const pqxx::result r =
        admin_exec(server_, "postgres",
                   "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE datname = " +
                       sql_literal(database_) + " AND pid <> pg_backend_pid()");
    return r[0][0].as<int>();
  }

  void server_exec(const std::string& sql) override { admin_exec(server_, "postgres", sql); }

 private:
  PgServer server_;
  std::string database_;
  bool created_ = false;
  TempDir dir_;
};

std::variant<std::unique_ptr<StoreBackend>, BackendUnavailable> make_postgres_backend() {
  const char* no_postgres = std::getenv("OSBD_TEST_NO_POSTGRES");
  if (no_postgres != nullptr && std::string(no_postgres) == "1") {
    return BackendUnavailable{true, "OSBD_TEST_NO_POSTGRES=1: PostgreSQL store tests skipped"};
  }
  std::vector<std::string> missing;
  auto var = [&missing](const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
      missing.emplace_back(name);
      return std::string();
    }
    return std::string(value);
  };
  PgServer server;
  server.host = var("OSBD_PG_HOST");
  const std::string port = var("OSBD_PG_PORT");
  server.admin_user = var("OSBD_PG_ADMIN_USER");
  server.admin_password = var("OSBD_PG_ADMIN_PASSWORD");
  if (!missing.empty()) {
    std::string names;
    for (const auto& name : missing) {
      names += (names.empty() ? "" : ", ") + name;
    }
    return BackendUnavailable{false, "the PostgreSQL store tests need a server, and " + names +
                                         (missing.size() == 1 ? " is" : " are") +
                                         " not set: " + kStartServerHint};
  }
  try {
    server.port = static_cast<unsigned>(std::stoul(port));
  } catch (const std::exception&) {
    return BackendUnavailable{false, "OSBD_PG_PORT is not a port number: " + port};
  }
  static std::atomic<int> databases{0};
  const std::string database = "osbd_store_test_" + std::to_string(::getpid()) + "_" +
                               std::to_string(databases.fetch_add(1) + 1);
  try {
    return std::unique_ptr<StoreBackend>(std::make_unique<PostgresBackendImpl>(server, database));
  } catch (const std::exception& e) {
    std::string why = e.what();
    // libpq does not quote passwords in its messages, but make sure the test output does not.
    for (auto at = why.find(server.admin_password);
         !server.admin_password.empty() && at != std::string::npos;
         at = why.find(server.admin_password)) {
      why.replace(at, server.admin_password.size(), "<password>");
    }
    return BackendUnavailable{false, "cannot create the test database " + database + " on " +
                                         server.host + ":" + port + " (" + why +
                                         "): " + kStartServerHint};
  }
}

}  // namespace

std::string backend_name(Backend backend) {
  return backend == Backend::sqlite ? "SQLite" : "PostgreSQL";
}

std::string StoreBackend::raw_binding_response(const std::string& instance_id,
                                               const std::string& binding_id) {
  return raw_query("SELECT response FROM bindings WHERE instance_id = " + sql_literal(instance_id) +
                   " AND id = " + sql_literal(binding_id));
}

std::variant<std::unique_ptr<StoreBackend>, BackendUnavailable> make_backend(Backend kind) {
  if (kind == Backend::sqlite) {
    return std::unique_ptr<StoreBackend>(std::make_unique<SqliteBackend>());
  }
  return make_postgres_backend();
}

}  // namespace osbd::state::testing

#pragma once

// The storage a store test runs against, one implementation per Store backend: a fresh SQLite data
// directory, or a fresh PostgreSQL database on the server scripts/test-servers.sh starts (see
// make_backend for the OSBD_PG_* variables it reads and for OSBD_TEST_NO_POSTGRES).

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <variant>

#include "state/store.hpp"

namespace osbd::state::testing {

/// A Store implementation.
enum class Backend { sqlite, postgres };

/// "SQLite" or "PostgreSQL": the suffix of a parameterized test's name.
std::string backend_name(Backend backend);

/// Prints a Backend by its name (in gtest's messages about parameters).
inline void PrintTo(Backend backend, std::ostream* os) {
  *os << backend_name(backend);
}

/// Names a test parameterized by Backend after it (for INSTANTIATE_TEST_SUITE_P).
struct BackendParamName {
  std::string operator()(const ::testing::TestParamInfo<Backend>& info) const {
    return backend_name(info.param);
  }
};

/// Fresh, empty storage for one test: Stores open on it, and a connection of the test's own
/// reads and writes it behind their back. Destroying it removes the storage (every Store opened
/// on it must be destroyed first).
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  StoreBackend() = default;
  StoreBackend(const StoreBackend&) = delete;
  StoreBackend& operator=(const StoreBackend&) = delete;

  /// Which implementation this is.
  virtual Backend kind() const = 0;

  /// Opens a new Store on this storage with default_sealing(). Every call gives another Store on
  /// the same records: destroying one and opening again is a restart; two open at once are two
  /// processes (replicas) sharing the store.
  std::unique_ptr<Store> open() { return open(default_sealing()); }
  /// As open(), with these keys.
  virtual std::unique_ptr<Store> open(const SealingOptions& sealing) = 0;

  /// The keys open() uses.
  virtual SealingOptions default_sealing() const = 0;
  /// The key file that seals under default_sealing() (it exists once a store was opened).
  virtual std::string default_key_file() const = 0;
  /// A directory of the test's own (for more key files), removed with the backend.
  virtual const std::string& scratch_dir() const = 0;

  /// Runs SQL (one or more statements) on the storage through a connection of the test's own.
  /// Keep it to SQL both databases speak.
  virtual void raw_exec(const std::string& sql) = 0;
  /// The first column of the first row of a query, as text: "<no row>" without a row, "<null>"
  /// for NULL.
  virtual std::string raw_query(const std::string& sql) = 0;
  /// What the bindings table holds in the response column of a binding, as text.
  std::string raw_binding_response(const std::string& instance_id, const std::string& binding_id);

  /// Text that no StoreError may contain (the database password); "" when there is none.
  virtual std::string secret() const = 0;
};

/// Why a backend cannot run here: the test is skipped (skip) or fails, with why.
struct BackendUnavailable {
  bool skip = false;
  std::string why;
};

/// Fresh storage of the kind asked for, or why there is none.
///
/// PostgreSQL: a new database osbd_store_test_<pid>_<n>, created by the admin of the server that
/// OSBD_PG_HOST, OSBD_PG_PORT, OSBD_PG_ADMIN_USER and OSBD_PG_ADMIN_PASSWORD name (what
/// `scripts/test-servers.sh env postgres` prints) and dropped again with the backend; the store
/// logs in as that admin and seals with a key file in scratch_dir(). Without those variables, or
/// without a server answering there, the test fails saying how to start the server: unless
/// OSBD_TEST_NO_POSTGRES=1, which skips it.
std::variant<std::unique_ptr<StoreBackend>, BackendUnavailable> make_backend(Backend kind);

/// A PostgreSQL backend's extra powers, for the tests only PostgreSQL has.
class PostgresBackend : public StoreBackend {
 public:
  /// The options open() passes to open_postgres_store.
  virtual PostgresOptions options() const = 0;
  /// Ends, from the admin's connection, every other session connected to the test database (as
  /// a server restart or a network failure would): returns how many it ended.
  virtual int terminate_connections() = 0;
  /// Runs sql as the admin on the server's maintenance database (postgres), for what cannot be
  /// done from inside the test database.
  virtual void server_exec(const std::string& sql) = 0;
};

}  // namespace osbd::state::testing

/// In a fixture's SetUp (or a test): sets `target` (a std::unique_ptr<StoreBackend>) to fresh
/// storage of `kind`, or skips or fails the test as make_backend says and returns.
#define OSBD_MAKE_STORE_BACKEND(target, kind)                                       \
  do {                                                                              \
    auto osbd_made_ = ::osbd::state::testing::make_backend(kind);                   \
    if (auto* osbd_unavailable_ =                                                   \
            std::get_if<::osbd::state::testing::BackendUnavailable>(&osbd_made_)) { \
      if (osbd_unavailable_->skip) {                                                \
        GTEST_SKIP() << osbd_unavailable_->why;                                     \
      }                                                                             \
      FAIL() << osbd_unavailable_->why;                                             \
    }                                                                               \
    (target) = std::move(std::get<0>(osbd_made_));                                  \
  } while (false)

#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <pqxx/connection>
#include <pqxx/transaction>
#include <pqxx/transaction_base>

#include "state/store.hpp"
#include "util/mutex.hpp"

namespace osbd::state::pg {

/// What a unit of work runs its statements in: a transaction of its own, or a savepoint inside
/// the one transaction of a ConnectionPool::transact_together.
using Transaction = pqxx::transaction_base;

/// The libpq connection string for options: every value quoted and escaped as libpq wants it,
/// and the session settings the store relies on (statement_timeout, synchronous_commit on, READ
/// COMMITTED) passed as server options, so that a reconnect by libpq keeps them too.
std::string connection_string(const PostgresOptions& options);

/// "osbd state store postgresql://user@host:port/database": how every error names the store. It
/// never holds the password.
std::string store_label(const PostgresOptions& options);

/// The first line of a libpq or server message, without its "ERROR:" or "FATAL:" label.
std::string first_line(std::string_view message);

/// Connections to the store's database, opened lazily up to options.pool_size and lent out for
/// one transaction at a time. A connection that broke is dropped when it comes back, and a later
/// transaction opens a new one. Only a BEGIN that finds its connection broken (it broke while
/// idle) is retried, once, on a new connection: nothing of that transaction was sent yet.
/// Nothing else is retried, least of all a COMMIT whose outcome is unknown.
class ConnectionPool {
 public:
  /// Opens nothing yet: the first transaction opens the first connection.
  explicit ConnectionPool(const PostgresOptions& options);
  /// Closes every connection; requires that none is lent out.
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  /// How errors name the store; see store_label.
  const std::string& label() const noexcept { return label_; }

  /// Runs unit in one READ COMMITTED transaction on a connection of its own and commits it;
  /// returns what unit returned once COMMIT did. Throws StoreError "label: what: reason" when
  /// the database fails, the connection breaks (also during COMMIT, whose outcome is then
  /// unknown), or unit throws; StoreErrors unit throws pass unchanged. Nothing of a failed
  /// transaction is kept. Inside transact_together on this thread, unit runs in a savepoint of
  /// that transaction instead, and its change commits with it.
  template <typename F>
  std::invoke_result_t<F&, Transaction&> transact(const char* what, F&& unit) {
    using Result = std::invoke_result_t<F&, Transaction&>;
    if constexpr (std::is_void_v<Result>) {
      run(what, [&](Transaction& tx) { unit(tx); });
    } else {
      Result result{};
      run(what, [&](Transaction& tx) { result = unit(tx); });
      return result;
    }
  }

  /// Runs body, whose transact calls on this thread become savepoints of one transaction, and
  /// commits that transaction once body returned: all of it is kept, or (when body or the
  /// COMMIT throws, which this rethrows) nothing. Inside another transact_together it joins that.
  void transact_together(const char* what, const std::function<void()>& body);

 private:
  // A connection lent out for one transaction; see Lease in pg_pool.cpp.
  class Lease;

  void run(const char* what, const std::function<void(Transaction&)>& unit);
  void run_alone(const char* what, const std::function<void(pqxx::work&)>& unit);
  void run_in_savepoint(const char* what, const std::function<void(Transaction&)>& unit);
  [[noreturn]] void fail_current(const char* what, Lease* conn) const;
  void drop_idle() noexcept OSBD_EXCLUDES(mu_);
  std::unique_ptr<pqxx::connection> take(const char* what) OSBD_EXCLUDES(mu_);
  std::unique_ptr<pqxx::connection> open(const char* what) const;
  void give_back(std::unique_ptr<pqxx::connection> conn) noexcept OSBD_EXCLUDES(mu_);
  [[noreturn]] void fail(const char* what, std::string_view reason) const;

  const std::string conninfo_;  // holds the password: never part of a message
  const std::string label_;
  const std::string password_;  // only to scrub it from messages, should libpq ever quote it
  const size_t size_;
  util::Mutex mu_;
  std::condition_variable returned_;  // a connection came back or a slot became free
  // Capacity size_, so giving back never allocates.
  std::vector<std::unique_ptr<pqxx::connection>> idle_ OSBD_GUARDED_BY(mu_);
  size_t open_ OSBD_GUARDED_BY(mu_) = 0;  // idle, lent out or being opened
};

}  // namespace osbd::state::pg

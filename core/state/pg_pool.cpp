#include "state/pg_pool.hpp"

#include <algorithm>
#include <cassert>
#include <exception>
#include <optional>
#include <utility>

#include <pqxx/except>

namespace osbd::state::pg {

namespace {

// The transaction of the transact_together running on this thread, and whose it is.
struct SharedTransaction {
  const ConnectionPool* pool = nullptr;
  pqxx::work* tx = nullptr;
};
thread_local SharedTransaction shared_transaction;

// A value in a libpq connection string: single-quoted, with \ and ' escaped by a backslash
// (libpq's own rule; neither pqxx 6.4 nor libpq has a function that does it).
std::string conninfo_value(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\\' || c == '\'') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// " key='value'".
std::string conninfo_pair(const char* key, std::string_view value) {
  return std::string(" ") + key + "=" + conninfo_value(value);
}

// The server options of every session. synchronous_commit is on even where the server default
// is off: a method that returned must have made its change durable. READ COMMITTED is what the
// store's conditional writes are written for, whatever default_transaction_isolation the server
// has. A space inside one option is escaped with a backslash (libpq's options syntax).
std::string session_options(const PostgresOptions& options) {
  return "-c statement_timeout=" + std::to_string(options.statement_timeout_ms) +
         " -c synchronous_commit=on -c default_transaction_isolation=read\\ committed";
}

// Replaces every occurrence of secret in text.
std::string scrubbed(std::string text, const std::string& secret) {
  if (secret.empty()) {
    return text;
  }
  for (std::size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

}  // namespace

std::string connection_string(const PostgresOptions& options) {
  std::string text =
      "host=" + conninfo_value(options.host) + conninfo_pair("port", std::to_string(options.port)) +
      conninfo_pair("dbname", options.database) + conninfo_pair("user", options.user);
  if (!options.password.empty()) {
    text += conninfo_pair("password", options.password);
  }
  if (!options.sslmode.empty()) {
    text += conninfo_pair("sslmode", options.sslmode);
  }
  if (!options.sslrootcert.empty()) {
    text += conninfo_pair("sslrootcert", options.sslrootcert);
  }
  text += conninfo_pair("connect_timeout", std::to_string(options.connect_timeout_seconds));
  text += conninfo_pair("application_name", "osbd");
  // Records are UTF-8 whatever encoding the server's clients default to.
  text += conninfo_pair("client_encoding", "UTF8");
  text += conninfo_pair("options", session_options(options));
  return text;
}

std::string store_label(const PostgresOptions& options) {
  const bool ipv6 = options.host.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + options.host + "]" : options.host;
  return "osbd state store postgresql://" + options.user + "@" + host + ":" +
         std::to_string(options.port) + "/" + options.database;
}

std::string first_line(std::string_view message) {
  std::string_view line = message.substr(0, message.find('\n'));
  for (const std::string_view label : {"ERROR:", "FATAL:"}) {
    if (line.substr(0, label.size()) == label) {
      line.remove_prefix(label.size());
    }
  }
  const std::size_t start = line.find_first_not_of(' ');
  return start == std::string_view::npos ? std::string() : std::string(line.substr(start));
}

// A connection lent out for one transaction. Given back when the lease ends, unless it broke
// (libpq says so, or the transaction's failure did): then it is closed and its slot freed.
class ConnectionPool::Lease {
 public:
  Lease(ConnectionPool& pool, const char* what) : pool_(pool), conn_(pool.take(what)) {}
  ~Lease() {
    if (broken_ || !conn_->is_open()) {
      conn_.reset();
    }
    pool_.give_back(std::move(conn_));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  // The connection, for this transaction alone.
  pqxx::connection& operator*() const noexcept { return *conn_; }
  // Marks the connection as not to be used again (its state is unknown).
  void discard() noexcept { broken_ = true; }

 private:
  ConnectionPool& pool_;
  std::unique_ptr<pqxx::connection> conn_;
  bool broken_ = false;
};

ConnectionPool::ConnectionPool(const PostgresOptions& options)
    : conninfo_(connection_string(options)),
      label_(store_label(options)),
      password_(options.password),
      size_(std::max<size_t>(options.pool_size, 1)) {
  idle_.reserve(size_);
}

ConnectionPool::~ConnectionPool() {
  util::MutexLock lock(mu_);
  assert(open_ == idle_.size());
  idle_.clear();
}

void ConnectionPool::run(const char* what, const std::function<void(Transaction&)>& unit) {
  if (shared_transaction.pool == this) {
    run_in_savepoint(what, unit);
  } else {
    run_alone(what, [&](pqxx::work& tx) { unit(tx); });
  }
}

void ConnectionPool::transact_together(const char* what, const std::function<void()>& body) {
  if (shared_transaction.pool == this) {
    body();
    return;
  }
  std::exception_ptr from_body;
  try {
    run_alone(what, [&](pqxx::work& tx) {
      shared_transaction = {this, &tx};
      try {
        body();
      } catch (...) {
        from_body = std::current_exception();
      }
      shared_transaction = {};
      if (from_body) {
        std::rethrow_exception(from_body);
      }
    });
  } catch (...) {
    if (from_body) {
      std::rethrow_exception(from_body);  // as body threw it, not as run_alone reports it
    }
    throw;
  }
}

void ConnectionPool::run_alone(const char* what, const std::function<void(pqxx::work&)>& unit) {
  for (int attempt = 1;; ++attempt) {
    Lease conn(*this, what);
    std::optional<pqxx::work> tx;
    try {
      tx.emplace(*conn);
    } catch (const pqxx::broken_connection&) {
      // The connection broke while idle (a server restart, an idle timeout): BEGIN failed
      // before anything of unit was sent, so this alone is retried, once, on a new connection.
      // The other idle ones most likely broke with it.
      conn.discard();
      drop_idle();
      if (attempt < 2) {
        continue;
      }
      fail_current(what, &conn);
    } catch (...) {
      fail_current(what, &conn);
    }
    try {
      unit(*tx);
      tx->commit();
      return;
    } catch (...) {
      tx.reset();  // rolls back (if the connection still can) before conn goes back
      fail_current(what, &conn);
    }
  }
}

// A failure rolls back to the savepoint and leaves the transaction usable, as a failed method
// leaves the store: the caller may go on with other calls. (pqxx 6.4's subtransaction would send
// its SAVEPOINT only before a statement run through exec(), not exec_params().)
void ConnectionPool::run_in_savepoint(const char* what,
                                      const std::function<void(Transaction&)>& unit) {
  pqxx::work& tx = *shared_transaction.tx;
  try {
    tx.exec_params("SAVEPOINT osbd_call");
    unit(tx);
    tx.exec_params("RELEASE SAVEPOINT osbd_call");
  } catch (...) {
    try {
      tx.exec_params("ROLLBACK TO SAVEPOINT osbd_call");
    } catch (...) {
      // The connection broke, or pqxx ended the transaction: its COMMIT fails, keeping nothing.
    }
    fail_current(what, nullptr);
  }
}

// Throws the exception being handled as a StoreError; a connection (conn, when the transaction
// has one of its own) that it leaves in an unknown state is not used again.
void ConnectionPool::fail_current(const char* what, Lease* conn) const {
  try {
    throw;
  } catch (const StoreError&) {
    throw;  // names the store already; the transaction was rolled back
  } catch (const pqxx::in_doubt_error& e) {
    // The connection broke while COMMIT was under way: the change may or may not be there, so
    // it must not be retried blindly. The caller answers 503 and the platform asks again.
    if (conn != nullptr) {
      conn->discard();
    }
    fail(what, "the connection broke during COMMIT; whether it committed is unknown: " +
                   first_line(e.what()));
  } catch (const pqxx::broken_connection& e) {
    if (conn != nullptr) {
      conn->discard();
    }
    fail(what, "connection lost: " + first_line(e.what()));
  } catch (const pqxx::sql_error& e) {
    fail(what, first_line(e.what()) + " (SQLSTATE " + e.sqlstate() + ")");
  } catch (const std::exception& e) {
    fail(what, first_line(e.what()));
  }
}

// An idle connection, else a new one while fewer than size_ are open, else the next one that
// comes back.
std::unique_ptr<pqxx::connection> ConnectionPool::take(const char* what) {
  {
    util::UniqueLock lock(mu_);
    while (idle_.empty() && open_ >= size_) {
      lock.wait(returned_);
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;
  }
  // Opened outside the lock: a slow connect (up to connect_timeout) holds up nobody else.
  try {
    return open(what);
  } catch (...) {
    give_back(nullptr);
    throw;
  }
}

std::unique_ptr<pqxx::connection> ConnectionPool::open(const char* what) const {
  try {
    return std::make_unique<pqxx::connection>(conninfo_);
  } catch (const std::exception& e) {
    fail(what, "cannot connect: " + first_line(e.what()));
  }
}

// Puts conn back among the idle ones; a null conn (one that broke or never opened) frees its
// slot instead.
void ConnectionPool::give_back(std::unique_ptr<pqxx::connection> conn) noexcept {
  util::MutexLock lock(mu_);
  if (conn != nullptr) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  returned_.notify_one();
}

void ConnectionPool::drop_idle() noexcept {
  // Closed under the lock: closing only sends a Terminate message, and clear() keeps the
  // capacity, so that giving back still never allocates.
  util::MutexLock lock(mu_);
  open_ -= idle_.size();
  idle_.clear();
  returned_.notify_all();
}

void ConnectionPool::fail(const char* what, std::string_view reason) const {
  throw StoreError(scrubbed(label_ + ": " + what + ": " + std::string(reason), password_));
}

}  // namespace osbd::state::pg

#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <type_traits>

#include "state/sqlite_db.hpp"

namespace osbd::state::sqlite {

/// Runs the store's writes on one connection, committing the writes of concurrent callers
/// together: one transaction and one fsync for a whole batch instead of one per write.
///
/// A caller hands in a unit of work (statements only, no BEGIN or COMMIT of its own) and blocks.
/// One caller at a time is the leader: it takes every queued unit (up to max_batch), runs
/// BEGIN IMMEDIATE, then each unit inside its own savepoint, in queue order, then one COMMIT, and
/// wakes every caller of the batch. A unit that throws is rolled back to its savepoint and only its
/// caller gets the exception; the others still commit. When the transaction as a whole fails (its
/// BEGIN or COMMIT, or SQLite rolls it back mid-batch on a full disk or an I/O error), every
/// caller of the batch gets a StoreError. A caller returns only after the COMMIT that holds its
/// unit returned, so a returned write is as durable as the connection's synchronous setting makes
/// a COMMIT. Units run in queue order and each sees the writes of the units before it, so a batch
/// is equivalent to running its units one transaction after another.
///
/// Constraints must be checked per statement, as the store's are: a deferred constraint is checked
/// only by COMMIT, and its violation by one unit would fail the whole batch.
///
/// There is no thread of its own: leadership passes from caller to caller, so nothing needs to be
/// stopped on destruction, and a lone writer runs its unit without a thread switch.
class GroupCommit {
 public:
  /// Default bound on the units of one batch; it bounds how long one batch holds its callers.
  static constexpr size_t kDefaultMaxBatch = 256;

  /// Counters since construction, for tests and benchmarks.
  struct Stats {
    uint64_t batches = 0;  ///< transactions run (committed or not)
    uint64_t units = 0;    ///< units run in them
    size_t largest = 0;    ///< most units one batch held
  };

  /// Writes through db, which must stay open and otherwise unused while this object lives.
  explicit GroupCommit(Database& db, size_t max_batch = kDefaultMaxBatch);
  /// Requires that no call to run() is in progress.
  ~GroupCommit();
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  /// Runs unit() inside a write transaction shared with concurrent callers and returns once that
  /// transaction committed. Rethrows what unit() threw (its changes are undone), or throws
  /// StoreError if the transaction as a whole failed (nothing of the unit stays). unit() runs on
  /// whichever thread leads the batch, so it must not depend on the calling thread.
  template <typename F>
  void run(F&& unit) {
    using Fn = std::remove_reference_t<F>;
    Unit u;
    u.fn = [](void* f) { (*static_cast<Fn*>(f))(); };
    u.arg = const_cast<void*>(static_cast<const void*>(std::addressof(unit)));
    submit(u);
  }

  /// Units waiting for a leader to take them (for tests that need a batch to form).
  size_t queued() const;
  /// The counters so far.
  Stats stats() const;

 private:
  enum class State { queued, leading, done };

  // Lives on its caller's stack until the caller returns, which it does only after the leader
  // marked it done under mu_; the queue and the batch link units without allocating.
  struct Unit {
    void (*fn)(void*) = nullptr;
    void* arg = nullptr;
    Unit* next = nullptr;
    State state = State::queued;
    std::exception_ptr error;
    std::condition_variable wake;
  };

  void submit(Unit& unit);
  void lead(std::unique_lock<std::mutex>& lock);
  void run_batch(Unit* first) noexcept;
  bool undo_unit() noexcept;
  void rollback() noexcept;

  Database& db_;
  const size_t max_batch_;

  mutable std::mutex mu_;
  Unit* head_ = nullptr;  // queued units, oldest first
  Unit* tail_ = nullptr;
  size_t queued_ = 0;
  // True while some caller leads; when false, the queue is empty, so a caller that finds it false
  // queues at the front and its own unit is in the batch it leads.
  bool leading_ = false;
  Stats stats_;
};

}  // namespace osbd::state::sqlite

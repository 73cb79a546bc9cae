#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>

#include "state/sqlite_db.hpp"
#include "util/mutex.hpp"

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
///
/// A caller that must not block hands in an AsyncUnit instead (run_async): it is queued like any
/// unit and its completion is called, with the unit's error or null, once the COMMIT that holds
/// it returned. If no batch is running, the caller leads at once; a leader keeps leading while
/// asynchronous units are queued and hands over to the first blocked caller it finds at the head.
/// A unit (of either kind) may itself call run(): the nested unit runs inline, inside the batch
/// and savepoint of the unit that calls it.
///
/// With sync_log, the connection is expected to run with synchronous=NORMAL (COMMIT writes the
/// WAL without syncing it) and the leader syncs the WAL itself after each COMMIT: a caller
/// returns, and an asynchronous unit's done runs, only after that sync. An asynchronous unit that
/// only records an intent may ask to be done before the sync (AsyncUnit::before_sync): its write
/// is committed (it survives kill -9, and the next sync makes it durable) while the leader syncs.
class GroupCommit {
  enum class State { queued, leading, done };

 public:
  struct AsyncUnit;

 private:
  // A queued write. A blocking caller's lives on its stack until it returns, which it does only
  // after the leader marked it done under mu_; an asynchronous one lives in its AsyncUnit, which
  // the leader no longer touches once it called done. The queue links units without allocating.
  struct Unit {
    void (*fn)(void*) = nullptr;
    void* arg = nullptr;
    AsyncUnit* async = nullptr;  // set for a unit of run_async, which nobody waits for
    Unit* next = nullptr;
    State state = State::queued;
    std::exception_ptr error;
    std::condition_variable wake;
  };

 public:
  /// Default bound on the units of one batch; it bounds how long one batch holds its callers.
  static constexpr size_t kDefaultMaxBatch = 256;

  /// Counters since construction, for tests and benchmarks.
  struct Stats {
    uint64_t batches = 0;  ///< transactions run (committed or not)
    uint64_t units = 0;    ///< units run in them
    size_t largest = 0;    ///< most units one batch held
  };

  /// A write whose caller does not wait for it. It must stay alive, unmoved, until done runs.
  struct AsyncUnit {
    void (*fn)(AsyncUnit&) = nullptr;  ///< the statements; runs on the leader's thread
    /// Called once, after the COMMIT (or the failure) that ends the unit, on the leader's thread
    /// and without locks held; error is null on success. The unit may be freed in it.
    void (*done)(AsyncUnit&, std::exception_ptr error) noexcept = nullptr;
    /// Call done once the batch committed, before the leader syncs the WAL (with sync_log).
    bool before_sync = false;

   private:
    friend class GroupCommit;
    Unit node;  // the queue entry
  };

  /// Writes through db, which must stay open and otherwise unused while this object lives. With
  /// sync_log the WAL of db is synced by this object after each COMMIT (see above).
  explicit GroupCommit(Database& db, size_t max_batch = kDefaultMaxBatch, bool sync_log = false);
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
    if (running_here()) {
      unit();  // nested in a unit of the batch this thread runs: part of that unit's write
      return;
    }
    using Fn = std::remove_reference_t<F>;
    Unit u;
    u.fn = [](void* f) { (*static_cast<Fn*>(f))(); };
    u.arg = const_cast<void*>(static_cast<const void*>(std::addressof(unit)));
    submit(u);
  }

  /// Queues unit and returns: at once if another caller leads, otherwise after this thread led
  /// the batches queued meanwhile (its own among them). Failures go to unit.done, never thrown.
  /// With lead false it only queues: the unit waits for a running batch to take it or for
  /// lead_queued(), so that a caller can gather several units into one batch.
  void run_async(AsyncUnit& unit, bool lead = true) noexcept OSBD_EXCLUDES(mu_);

  /// Leads the queued units on this thread unless a batch is running (which takes them).
  void lead_queued() noexcept OSBD_EXCLUDES(mu_);

  /// Batches committed so far; pass it to wait_synced to wait until all of them are durable.
  uint64_t committed() const OSBD_EXCLUDES(mu_);
  /// Returns once the first `batches` batches are synced (at once without sync_log), so that a
  /// read of what they wrote can be answered as durable. Throws StoreError if a sync failed.
  void wait_synced(uint64_t batches) const OSBD_EXCLUDES(mu_);

  /// Why a sync of the WAL failed, after which every write fails; "" while none has.
  std::string sync_failure() const OSBD_EXCLUDES(mu_);

  /// Why the last transaction failed as a whole (BEGIN, a write SQLite rolled back with its
  /// transaction, or COMMIT: a full disk, an I/O error); "" once a later one committed.
  std::string commit_failure() const OSBD_EXCLUDES(mu_);
  /// Units waiting for a leader to take them (for tests that need a batch to form).
  size_t queued() const OSBD_EXCLUDES(mu_);
  /// The counters so far.
  Stats stats() const OSBD_EXCLUDES(mu_);

 private:
  // What running a batch outside mu_ came to: the number run_batch gave it (0 if it failed
  // before its COMMIT) and, with sync_log, why the WAL's sync failed ("" if it did not).
  struct BatchOutcome {
    uint64_t number = 0;
    std::string sync_failure;
  };

  bool running_here() const noexcept;
  void submit(Unit& unit) OSBD_EXCLUDES(mu_);
  void enqueue(Unit& unit) OSBD_REQUIRES(mu_);
  // Makes this thread the leader with the head of the queue as its first unit, and leads.
  void take_lead() OSBD_REQUIRES(mu_);
  // Runs batches while this thread holds the lead; returns with the lead released or handed to a
  // blocked caller. Calls the done of finished asynchronous units with mu_ released.
  void lead() OSBD_REQUIRES(mu_);
  // Takes up to max_batch_ units off the front of the queue, linked by next; n is their number.
  Unit* take_batch(size_t& n) OSBD_REQUIRES(mu_);
  // Runs the batch (or fails its units if the WAL could not be synced before) and syncs the WAL.
  // Units done before the sync are taken out of first and done already.
  BatchOutcome execute(Unit*& first, const std::string& poisoned) noexcept OSBD_EXCLUDES(mu_);
  // Records how the batch ended: synced or poisoned, and the counters.
  void record_batch(Unit* first, size_t n, const BatchOutcome& outcome) OSBD_REQUIRES(mu_);
  // Marks the units of the batch done and wakes their blocked callers; returns the asynchronous
  // ones, linked by next, for their done calls.
  Unit* release_units(Unit* first) OSBD_REQUIRES(mu_);
  // Hands the lead to the blocked caller at the head of the queue, or gives it up when the
  // queue is empty; true when this thread keeps it (an asynchronous unit is at the head).
  bool pass_lead() OSBD_REQUIRES(mu_);
  // Calls the done of each asynchronous unit of chain (linked by next), without mu_ held.
  static void call_done(Unit* chain) noexcept;
  // Takes the asynchronous units that may be done before the WAL's sync out of chain.
  static Unit* take_before_sync(Unit*& chain) noexcept;
  // Gives each unit of chain without an error of its own oom if set, else a StoreError of text.
  static void fail_units(Unit* chain, const std::string& text,
                         const std::exception_ptr& oom = nullptr) noexcept;
  // Runs the batch as one transaction; returns the number it gave the batch at its COMMIT, or 0
  // if it failed before.
  uint64_t run_batch(Unit* first) noexcept OSBD_EXCLUDES(mu_);
  // BEGIN IMMEDIATE; false (and every unit failed) if it failed.
  bool begin_batch(Unit* first) noexcept;
  // Runs each unit in a savepoint of its own; false (the transaction rolled back and every unit
  // failed) when a unit's failure took the whole transaction down.
  bool run_units(Unit* first) noexcept;
  // Numbers the batch and COMMITs it; returns the number.
  uint64_t commit_batch(Unit* first) noexcept OSBD_EXCLUDES(mu_);
  // Fails the whole transaction: every unit without an error of its own gets make_text()'s text.
  template <typename MakeText>
  void fail_batch(Unit* first, const MakeText& make_text) noexcept OSBD_EXCLUDES(mu_);
  bool undo_unit() noexcept;
  void rollback() noexcept;
  // Records the outcome of a whole transaction for commit_failure(), with the failure's text.
  void note_commit(bool failed, const std::string& text) noexcept OSBD_EXCLUDES(mu_);
  // Syncs the WAL (sync_log); empty on success, else the text of the failure.
  std::string sync_wal() noexcept;

  // The GroupCommit whose batch this thread is running, so a write nested in a unit runs inline.
  static thread_local const GroupCommit* running_;

  Database& db_;
  const size_t max_batch_;
  const bool sync_log_;
  int wal_fd_ = -1;  // opened at the first sync; the WAL file lives as long as db is open

  mutable util::Mutex mu_;
  Unit* head_ OSBD_GUARDED_BY(mu_) = nullptr;  // queued units, oldest first
  Unit* tail_ OSBD_GUARDED_BY(mu_) = nullptr;
  size_t queued_ OSBD_GUARDED_BY(mu_) = 0;
  // True while some caller leads; when false, the queue is empty, so a caller that finds it false
  // queues at the front and its own unit is in the batch it leads.
  bool leading_ OSBD_GUARDED_BY(mu_) = false;
  Stats stats_ OSBD_GUARDED_BY(mu_);
  uint64_t committed_ OSBD_GUARDED_BY(mu_) = 0;  // batches run so far
  uint64_t synced_ OSBD_GUARDED_BY(mu_) = 0;     // of which durable
  // Set when a sync failed: the kernel may have dropped the WAL's unwritten pages, so nothing
  // written since can be trusted to reach the disk; every later batch fails.
  std::string sync_failure_ OSBD_GUARDED_BY(mu_);
  // Set by a transaction that failed as a whole, cleared by one that committed.
  std::string commit_failure_ OSBD_GUARDED_BY(mu_);
  mutable std::condition_variable synced_cv_;
};

}  // namespace osbd::state::sqlite

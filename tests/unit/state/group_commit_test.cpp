// GroupCommit and ReaderPool on a scratch table: how batches form, what a failing unit or a
// failing transaction does to the other units of its batch, and what readers see meanwhile.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "state/group_commit.hpp"
#include "state/reader_pool.hpp"
#include "state/sqlite_db.hpp"
#include "state/store.hpp"
#include "test_support.hpp"

namespace osbd::state::sqlite {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

/// A one-shot latch a unit can wait on while the test arranges the next batch.
class Gate {
 public:
  /// Blocks until open() was called.
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  /// Lets every waiter (present and future) through.
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// What one caller of GroupCommit::run saw.
struct Outcome {
  bool ok = false;           ///< run() returned normally
  bool store_error = false;  ///< run() threw StoreError
  std::string message;       ///< what() of the exception, if any
};

/// An asynchronous unit that inserts key (or throws when key is empty) and records, in its
/// done, the error it got and whether its row was committed by then.
struct AsyncInsert : GroupCommit::AsyncUnit {
  std::function<void()> body;
  std::function<bool()> is_committed;
  std::atomic<bool> finished{false};
  bool failed = false;
  bool committed_when_done = false;
  std::thread::id done_on;

  AsyncInsert() {
    fn = [](GroupCommit::AsyncUnit& u) { static_cast<AsyncInsert&>(u).body(); };
    done = [](GroupCommit::AsyncUnit& u, std::exception_ptr error) noexcept {
      auto& self = static_cast<AsyncInsert&>(u);
      self.failed = error != nullptr;
      self.committed_when_done = self.is_committed();
      self.done_on = std::this_thread::get_id();
      self.finished = true;
    };
  }
};

class GroupCommitTest : public ::testing::Test {
 protected:
  GroupCommitTest() : db_(dir_.path() + "/gc.db") {
    Statement wal(db_, "PRAGMA journal_mode = WAL", "enable WAL");
    EXPECT_TRUE(wal.step());
    EXPECT_EQ(wal.text(0), "wal");
    db_.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON", "configure");
    db_.exec(
        "CREATE TABLE t (k TEXT PRIMARY KEY);"
        "CREATE TABLE parent (id TEXT PRIMARY KEY);"
        "CREATE TABLE child (id TEXT PRIMARY KEY, parent TEXT NOT NULL REFERENCES parent (id) "
        "DEFERRABLE INITIALLY DEFERRED)",
        "create tables");
  }

  ~GroupCommitTest() override {
    for (auto& th : threads_) {
      if (th.joinable()) {
        th.join();
      }
    }
  }

  /// Inserts key into t on the write connection (for use inside units).
  void insert(const std::string& key) {
    Statement st(db_, "INSERT INTO t (k) VALUES (:k)", "insert");
    st.bind(":k", key).run();
  }

  /// An asynchronous unit that inserts key into t.
  std::unique_ptr<AsyncInsert> async_insert(const std::string& key) {
    auto u = std::make_unique<AsyncInsert>();
    u->body = [this, key] { insert(key); };
    u->is_committed = [this, key] { return committed(key); };
    return u;
  }

  /// Whether key is in t, as a separate read-only connection sees it (committed rows only).
  bool committed(const std::string& key) {
    auto lease = readers_.acquire();
    Statement st(*lease, "SELECT 1 FROM t WHERE k = :k", "read");
    st.bind(":k", key);
    return st.step();
  }

  /// Runs unit through gc on a new thread, recording the outcome in slot.
  template <typename F>
  void start(GroupCommit& gc, Outcome& slot, F unit) {
    threads_.emplace_back([&gc, &slot, unit] {
      try {
        gc.run(unit);
        slot.ok = true;
      } catch (const StoreError& e) {
        slot.store_error = true;
        slot.message = e.what();
      } catch (const std::exception& e) {
        slot.message = e.what();
      }
    });
  }

  /// Polls until done() holds; gives up with a test failure after ten seconds, so that a broken
  /// queue fails the test instead of hanging it.
  template <typename Pred>
  static void wait_until(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "timed out waiting";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  /// Waits until n units are queued behind the running batch.
  static void wait_queued(const GroupCommit& gc, size_t n) {
    wait_until([&] { return gc.queued() >= n; });
  }

  /// Starts a leader whose batch holds only a unit that waits for gate, so that units started
  /// afterwards queue up and form the next batch together.
  void hold_leader(GroupCommit& gc, Outcome& slot, Gate& gate) {
    std::atomic<bool> running{false};
    start(gc, slot, [&gate, &running] {
      running = true;
      gate.wait();
    });
    wait_until([&] { return running.load(); });
  }

  /// Runs make_unit(i)'s unit for each i < n through gc as one batch, queued behind a held
  /// leader (in the order of i with in_order), and returns what their callers saw.
  template <typename MakeUnit>
  std::vector<Outcome> run_as_batch(GroupCommit& gc, int n, MakeUnit make_unit,
                                    bool in_order = false) {
    Gate gate;
    Outcome leader;
    hold_leader(gc, leader, gate);
    std::vector<Outcome> outcomes(n);  // sized once: the callers' threads write into it
    for (int i = 0; i < n; ++i) {
      start(gc, outcomes[i], make_unit(i));
      if (in_order) {
        wait_queued(gc, i + 1);
      }
    }
    wait_queued(gc, n);
    gate.open();
    join_all();
    EXPECT_TRUE(leader.ok) << leader.message;
    return outcomes;
  }

  /// A unit that inserts "k<i>".
  auto insert_k(int i) {
    return [this, i] { insert("k" + std::to_string(i)); };
  }

  void join_all() {
    for (auto& th : threads_) {
      th.join();
    }
    threads_.clear();
  }

  TempDir dir_;
  Database db_;
  ReaderPool readers_{dir_.path() + "/gc.db"};
  std::vector<std::thread> threads_;
};

TEST_F(GroupCommitTest, LoneCallerRunsItsUnitAndReturnsItsErrors) {
  GroupCommit gc(db_);
  gc.run([&] { insert("a"); });
  EXPECT_TRUE(committed("a"));
  EXPECT_THROW(gc.run([&] { throw std::runtime_error("refused"); }), std::runtime_error);
  EXPECT_THROW(gc.run([&] { insert("a"); }), StoreError);
  gc.run([&] { insert("b"); });
  EXPECT_TRUE(committed("b"));
  const auto stats = gc.stats();
  EXPECT_EQ(stats.batches, 4u);
  EXPECT_EQ(stats.units, 4u);
  EXPECT_EQ(stats.largest, 1u);
}

TEST_F(GroupCommitTest, QueuedUnitsCommitTogetherInOneBatch) {
  GroupCommit gc(db_);
  constexpr int kUnits = 20;
  const auto outcomes = run_as_batch(gc, kUnits, [this](int i) { return insert_k(i); });
  for (int i = 0; i < kUnits; ++i) {
    EXPECT_TRUE(outcomes[i].ok) << outcomes[i].message;
    EXPECT_TRUE(committed("k" + std::to_string(i))) << i;
  }
  const auto stats = gc.stats();
  EXPECT_EQ(stats.batches, 2u);
  EXPECT_EQ(stats.units, kUnits + 1u);
  EXPECT_EQ(stats.largest, static_cast<size_t>(kUnits));
}

TEST_F(GroupCommitTest, MaxBatchBoundsEachBatch) {
  GroupCommit gc(db_, 3);
  for (const auto& o : run_as_batch(gc, 7, [this](int i) { return insert_k(i); })) {
    EXPECT_TRUE(o.ok) << o.message;
  }
  const auto stats = gc.stats();
  EXPECT_EQ(stats.batches, 1u + 3u);  // the held leader, then 3 + 3 + 1
  EXPECT_EQ(stats.largest, 3u);
}

TEST_F(GroupCommitTest, UnitsRunInQueueOrderAndSeeEarlierUnitsOfTheirBatch) {
  GroupCommit gc(db_);
  // Each unit claims "slot" only if nobody did: the first in queue order must win, and every
  // later one must see its (uncommitted, same-batch) claim.
  constexpr int kUnits = 8;
  std::vector<int> claimed(kUnits, -1);
  run_as_batch(
      gc, kUnits,
      [this, &claimed](int i) {
        return [this, i, &claimed] {
          Statement st(db_, "INSERT INTO t (k) SELECT :k WHERE NOT EXISTS (SELECT 1 FROM t)",
                       "claim");
          st.bind(":k", "claimed-by-" + std::to_string(i)).run();
          claimed[i] = db_.changes();
        };
      },
      /*in_order=*/true);
  EXPECT_EQ(gc.stats().batches, 2u);
  EXPECT_EQ(claimed[0], 1);
  for (int i = 1; i < kUnits; ++i) {
    EXPECT_EQ(claimed[i], 0) << i;
  }
  EXPECT_TRUE(committed("claimed-by-0"));
}

TEST_F(GroupCommitTest, FailingUnitsFailOnlyTheirCallersAndLeaveNothingBehind) {
  GroupCommit gc(db_);
  gc.run([&] { insert("taken"); });
  constexpr int kUnits = 12;
  const auto outcomes = run_as_batch(gc, kUnits, [this](int i) {
    return [this, i] {
      insert("k" + std::to_string(i));
      if (i % 4 == 1) {
        insert("taken");  // constraint violation after a successful write
      } else if (i % 4 == 3) {
        throw std::runtime_error("unit " + std::to_string(i) + " gave up");
      }
    };
  });
  EXPECT_EQ(gc.stats().largest, static_cast<size_t>(kUnits));
  for (int i = 0; i < kUnits; ++i) {
    const std::string key = "k" + std::to_string(i);
    if (i % 4 == 1) {
      EXPECT_TRUE(outcomes[i].store_error) << i;
      EXPECT_THAT(outcomes[i].message, HasSubstr("UNIQUE")) << i;
      EXPECT_FALSE(committed(key)) << i;
    } else if (i % 4 == 3) {
      EXPECT_FALSE(outcomes[i].ok) << i;
      EXPECT_FALSE(outcomes[i].store_error) << i;
      EXPECT_EQ(outcomes[i].message, "unit " + std::to_string(i) + " gave up");
      EXPECT_FALSE(committed(key)) << i;
    } else {
      EXPECT_TRUE(outcomes[i].ok) << i << ": " << outcomes[i].message;
      EXPECT_TRUE(committed(key)) << i;
    }
  }
}

TEST_F(GroupCommitTest, FailedCommitFailsEveryUnitOfTheBatch) {
  GroupCommit gc(db_);
  constexpr int kUnits = 6;
  const auto outcomes = run_as_batch(gc, kUnits, [this](int i) {
    return [this, i] {
      insert("k" + std::to_string(i));
      if (i == 2) {
        // A deferred foreign key is checked only by COMMIT, which then fails for the batch.
        db_.exec("INSERT INTO child (id, parent) VALUES ('c', 'no-such-parent')", "orphan");
      }
    };
  });
  EXPECT_EQ(gc.stats().batches, 2u);
  for (int i = 0; i < kUnits; ++i) {
    EXPECT_TRUE(outcomes[i].store_error) << i;
    EXPECT_THAT(outcomes[i].message, HasSubstr("commit")) << i;
    EXPECT_THAT(outcomes[i].message, HasSubstr("FOREIGN KEY")) << i;
    EXPECT_FALSE(committed("k" + std::to_string(i))) << i;
  }
  // The connection is usable afterwards.
  EXPECT_TRUE(db_.autocommit());
  gc.run([&] { insert("after"); });
  EXPECT_TRUE(committed("after"));
}

TEST_F(GroupCommitTest, LostTransactionFailsEveryUnitOfTheBatch) {
  GroupCommit gc(db_);
  constexpr int kUnits = 5;
  const auto outcomes = run_as_batch(
      gc, kUnits,
      [this](int i) {
        return [this, i] {
          insert("k" + std::to_string(i));
          if (i == 2) {
            // What SQLite does itself on a full disk or an I/O error: the whole transaction is
            // gone.
            db_.exec("ROLLBACK", "lose the transaction");
            throw std::runtime_error("transaction lost");
          }
        };
      },
      /*in_order=*/true);
  EXPECT_EQ(outcomes[2].message, "transaction lost");
  for (int i = 0; i < kUnits; ++i) {
    EXPECT_FALSE(outcomes[i].ok) << i;
    EXPECT_FALSE(committed("k" + std::to_string(i))) << i;
    if (i != 2) {
      EXPECT_TRUE(outcomes[i].store_error) << i;
      EXPECT_THAT(outcomes[i].message, HasSubstr("rolled back")) << i;
    }
  }
  gc.run([&] { insert("after"); });
  EXPECT_TRUE(committed("after"));
}

TEST_F(GroupCommitTest, BeginThatCannotGetTheLockFailsTheBatch) {
  db_.exec("PRAGMA busy_timeout = 0", "no waiting");
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() + "/gc.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  GroupCommit gc(db_);
  try {
    gc.run([&] { insert("a"); });
    ADD_FAILURE() << "expected StoreError";
  } catch (const StoreError& e) {
    EXPECT_THAT(e.what(), HasSubstr("begin"));
    EXPECT_THAT(e.what(), HasSubstr("locked"));
  }
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  gc.run([&] { insert("a"); });
  EXPECT_TRUE(committed("a"));
}

TEST_F(GroupCommitTest, LoneAsyncCallerLeadsAndIsDoneWhenRunAsyncReturns) {
  GroupCommit gc(db_);
  AsyncInsert unit;
  unit.body = [this] { insert("a"); };
  unit.is_committed = [this] { return committed("a"); };
  gc.run_async(unit);
  ASSERT_TRUE(unit.finished);
  EXPECT_FALSE(unit.failed);
  EXPECT_TRUE(unit.committed_when_done);
  EXPECT_EQ(unit.done_on, std::this_thread::get_id());
}

TEST_F(GroupCommitTest, AsyncUnitsQueueBehindALeaderAndAreDoneOnlyAfterTheirCommit) {
  GroupCommit gc(db_);
  Gate gate;
  Outcome leader;
  hold_leader(gc, leader, gate);
  constexpr int kUnits = 6;
  std::vector<std::unique_ptr<AsyncInsert>> units;
  for (int i = 0; i < kUnits; ++i) {
    auto u = std::make_unique<AsyncInsert>();
    const std::string key = i == 3 ? std::string() : "k" + std::to_string(i);
    u->body = [this, key] {
      if (key.empty()) {
        insert("doomed");
        throw std::runtime_error("refused");
      }
      insert(key);
    };
    u->is_committed = [this, key] { return committed(key.empty() ? "doomed" : key); };
    gc.run_async(*u);  // returns at once: the held leader takes it
    EXPECT_FALSE(u->finished) << i;
    units.push_back(std::move(u));
  }
  // A blocked caller queued behind them gets the lead back once they are done.
  Outcome blocked;
  start(gc, blocked, [this] { insert("sync"); });
  wait_queued(gc, kUnits + 1);
  gate.open();
  join_all();
  EXPECT_TRUE(leader.ok);
  EXPECT_TRUE(blocked.ok) << blocked.message;
  for (int i = 0; i < kUnits; ++i) {
    ASSERT_TRUE(units[i]->finished) << i;
    EXPECT_EQ(units[i]->failed, i == 3) << i;
    // Done only once the batch committed; the failing unit's write is undone.
    EXPECT_EQ(units[i]->committed_when_done, i != 3) << i;
  }
  EXPECT_TRUE(committed("sync"));
  EXPECT_FALSE(committed("doomed"));
  EXPECT_EQ(gc.stats().batches, 2u);  // the held leader, then everything queued behind it
}

TEST_F(GroupCommitTest, QueuedUnitsWaitForLeadQueuedAndCommitInOneBatch) {
  GroupCommit gc(db_);
  constexpr int kUnits = 5;
  std::vector<std::unique_ptr<AsyncInsert>> units;
  for (int i = 0; i < kUnits; ++i) {
    auto u = async_insert("q" + std::to_string(i));
    gc.run_async(*u, /*lead=*/false);
    units.push_back(std::move(u));
  }
  // Nothing runs until someone leads.
  EXPECT_EQ(gc.queued(), static_cast<size_t>(kUnits));
  EXPECT_FALSE(committed("q0"));
  gc.lead_queued();
  for (int i = 0; i < kUnits; ++i) {
    ASSERT_TRUE(units[i]->finished) << i;
    EXPECT_FALSE(units[i]->failed) << i;
    EXPECT_TRUE(units[i]->committed_when_done) << i;
  }
  EXPECT_EQ(gc.stats().batches, 1u);
  EXPECT_EQ(gc.stats().largest, static_cast<size_t>(kUnits));
  gc.lead_queued();  // nothing queued: nothing runs
  EXPECT_EQ(gc.stats().batches, 1u);
}

TEST_F(GroupCommitTest, BlockingCallerBehindMoreQueuedUnitsThanOneBatchStillReturns) {
  // Units left for lead_queued() fill more than one batch; a blocking caller that arrives then
  // leads them all and returns once its own unit, in a later batch, committed.
  GroupCommit gc(db_, 2);
  std::vector<std::unique_ptr<AsyncInsert>> units;
  for (int i = 0; i < 5; ++i) {
    auto u = async_insert("b" + std::to_string(i));
    gc.run_async(*u, /*lead=*/false);
    units.push_back(std::move(u));
  }
  gc.run([&] { insert("blocking"); });
  EXPECT_TRUE(committed("blocking"));
  for (const auto& u : units) {
    EXPECT_TRUE(u->finished);
    EXPECT_TRUE(u->committed_when_done);
  }
  EXPECT_EQ(gc.stats().batches, 3u);  // 2 + 2 + (1 queued + the blocking one)
}

TEST_F(GroupCommitTest, WithItsOwnLogSyncIntentsAreDoneBeforeTheSyncAndTheRestAfter) {
  // The store's setting: COMMIT does not sync; the group commit syncs the WAL after it.
  db_.exec("PRAGMA synchronous = NORMAL", "configure");
  GroupCommit gc(db_, GroupCommit::kDefaultMaxBatch, /*sync_log=*/true);
  std::vector<std::string> order;
  std::mutex order_mu;
  auto make = [&](const std::string& key, bool intent) {
    auto u = std::make_unique<AsyncInsert>();
    u->body = [this, key] { insert(key); };
    u->is_committed = [this, key, &order, &order_mu] {
      std::lock_guard lock(order_mu);
      order.push_back(key);
      return committed(key);
    };
    u->before_sync = intent;
    return u;
  };
  auto durable = make("durable", false);
  auto intent = make("intent", true);
  gc.run_async(*durable, /*lead=*/false);
  gc.run_async(*intent, /*lead=*/false);
  EXPECT_EQ(gc.committed(), 0u);
  gc.lead_queued();
  ASSERT_TRUE(durable->finished && intent->finished);
  EXPECT_FALSE(durable->failed || intent->failed);
  // Both are committed when their done runs; the intent's done comes first although it queued
  // second, because it does not wait for the sync.
  EXPECT_TRUE(durable->committed_when_done && intent->committed_when_done);
  EXPECT_EQ(order, (std::vector<std::string>{"intent", "durable"}));
  EXPECT_EQ(gc.stats().batches, 1u);
  EXPECT_EQ(gc.committed(), 1u);
  gc.wait_synced(gc.committed());  // returns: the batch is synced
  // A blocking caller returns after its batch's sync too.
  gc.run([&] { insert("blocking"); });
  EXPECT_EQ(gc.committed(), 2u);
  gc.wait_synced(2);
  EXPECT_TRUE(committed("blocking"));
}

TEST_F(GroupCommitTest, WriteNestedInAUnitIsPartOfThatUnit) {
  GroupCommit gc(db_);
  // Nested run() inside a unit runs inline: it commits with the unit...
  gc.run([&] {
    insert("outer");
    gc.run([&] { insert("nested"); });
  });
  EXPECT_TRUE(committed("nested"));
  // ...and is undone with it when the unit fails after it.
  EXPECT_THROW(gc.run([&] {
    gc.run([&] { insert("nested-undone"); });
    throw std::runtime_error("refused");
  }),
               std::runtime_error);
  EXPECT_FALSE(committed("nested-undone"));
  // The same inside an asynchronous unit.
  AsyncInsert unit;
  unit.body = [&] { gc.run([&] { insert("nested-async"); }); };
  unit.is_committed = [&] { return committed("nested-async"); };
  gc.run_async(unit);
  ASSERT_TRUE(unit.finished);
  EXPECT_TRUE(unit.committed_when_done);
  EXPECT_EQ(gc.stats().batches, 3u);
}

TEST_F(GroupCommitTest, ReadersSeeOnlyCommittedBatchesAndNeverWaitForOne) {
  GroupCommit gc(db_);
  Gate gate;
  Outcome writer;
  std::atomic<bool> written{false};
  start(gc, writer, [&] {
    insert("pending");
    written = true;
    gate.wait();
  });
  wait_until([&] { return written.load(); });
  // The batch holds the write lock with its row written but not committed.
  EXPECT_FALSE(committed("pending"));
  gate.open();
  join_all();
  ASSERT_TRUE(writer.ok) << writer.message;
  // Committed before run() returned, so visible to the very next read.
  EXPECT_TRUE(committed("pending"));
}

TEST_F(GroupCommitTest, ReaderPoolLendsAtMostItsSize) {
  ReaderPool pool(dir_.path() + "/gc.db", 2);
  std::atomic<bool> got_third{false};
  std::thread third;
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    EXPECT_NE(&*a, &*b);
    third = std::thread([&] {
      auto c = pool.acquire();
      got_third = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(got_third);
  }
  third.join();
  EXPECT_TRUE(got_third);
}

TEST_F(GroupCommitTest, ReadConnectionsRefuseWrites) {
  auto lease = readers_.acquire();
  EXPECT_THROW((*lease).exec("INSERT INTO t (k) VALUES ('x')", "write on a reader"), StoreError);
}

}  // namespace
}  // namespace osbd::state::sqlite

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "state/store.hpp"
#include "test_support.hpp"

namespace osbd::state {
namespace {

using ::testing::HasSubstr;
using testing::make_binding;
using testing::make_instance;
using testing::make_op;
using testing::TempDir;

constexpr int kThreads = 8;
constexpr int kAttempts = 50;

void create_ready_instance(Store& store, const std::string& id) {
  auto inst = make_instance(id);
  auto op = make_op("prov-" + id, OperationKind::provision, id);
  ASSERT_EQ(store.begin_create_instance(inst, op), BeginResult::started);
  inst.status = ResourceStatus::ready;
  op.state = OperationState::succeeded;
  store.finish_instance_operation(inst, op);
}

// Runs body(t) on threads t = 0 .. n-1, then meanwhile() on this thread, then joins the threads.
template <typename Body, typename Meanwhile>
void on_threads(int n, const Body& body, const Meanwhile& meanwhile) {
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&body, t] { body(t); });
  }
  meanwhile();
  for (auto& th : threads) {
    th.join();
  }
}

template <typename Body>
void on_threads(int n, const Body& body) {
  on_threads(n, body, [] {});
}

// --- races --------------------------------------------------------------------------------------

TEST(StoreConcurrency, ExactlyOneBeginWinsOnAnIdleInstance) {
  TempDir dir;
  auto store = open_sqlite_store(dir.data_dir());
  create_ready_instance(*store, "i1");

  std::atomic<int> started{0};
  std::atomic<int> busy{0};
  std::atomic<int> other{0};
  on_threads(kThreads, [&](int t) {
    for (int a = 0; a < kAttempts; ++a) {
      const std::string id = "op-" + std::to_string(t) + "-" + std::to_string(a);
      switch (store->begin_instance_operation("i1", make_op(id, OperationKind::update, "i1"),
                                              ResourceStatus::ready, true)) {
        case BeginResult::started:
          ++started;
          break;
        case BeginResult::busy:
          ++busy;
          break;
        default:
          ++other;
      }
    }
  });
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(busy.load(), kThreads * kAttempts - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(store->list_unfinished_operations().size(), 1u);
}

// Threads take the instance, hold it briefly, and finish; no two may ever hold it at once.
void race_begin_finish(const std::vector<Store*>& stores, int threads_per_store) {
  std::atomic<int> holders{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> started{0};
  std::atomic<int> unexpected{0};
  const int n = static_cast<int>(stores.size()) * threads_per_store;
  on_threads(n, [&](int t) {
    const size_t s = static_cast<size_t>(t) % stores.size();
    Store& store = *stores[s];
    for (int a = 0; a < kAttempts; ++a) {
      const std::string id =
          "op-" + std::to_string(s) + "-" + std::to_string(t) + "-" + std::to_string(a);
      auto op = make_op(id, OperationKind::update, "i1");
      const auto r = store.begin_instance_operation("i1", op, ResourceStatus::ready, true);
      if (r == BeginResult::busy) {
        continue;
      }
      if (r != BeginResult::started) {
        ++unexpected;
        continue;
      }
      ++started;
      if (holders.fetch_add(1) != 0) {
        ++overlaps;
      }
      std::this_thread::yield();
      holders.fetch_sub(1);
      op.state = OperationState::succeeded;
      auto inst = store.get_instance("i1").value();
      store.finish_instance_operation(inst, op);
    }
  });
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GE(started.load(), 1);
  // Every start left exactly one operation row, and every one of them was finished.
  EXPECT_TRUE(stores[0]->list_unfinished_operations().empty());
  EXPECT_EQ(stores[0]->get_instance("i1")->active_operation, "");
}

TEST(StoreConcurrency, BeginAndFinishNeverOverlapInOneProcess) {
  TempDir dir;
  auto store = open_sqlite_store(dir.data_dir());
  create_ready_instance(*store, "i1");
  race_begin_finish({store.get()}, kThreads);
}

TEST(StoreConcurrency, BeginAndFinishNeverOverlapAcrossConnections) {
  // Two stores on one file stand in for two processes: only SQLite's locking separates them.
  TempDir dir;
  auto a = open_sqlite_store(dir.data_dir());
  auto b = open_sqlite_store(dir.data_dir());
  create_ready_instance(*a, "i1");
  race_begin_finish({a.get(), b.get()}, kThreads / 2);
}

TEST(StoreConcurrency, BindingsAndDeprovisionExcludeEachOther) {
  TempDir dir;
  auto store = open_sqlite_store(dir.data_dir());
  create_ready_instance(*store, "i1");
  std::atomic<int> bindings_started{0};
  std::atomic<int> deprovision_started{0};
  on_threads(kThreads, [&](int t) {
    for (int a = 0; a < kAttempts; ++a) {
      const std::string n = std::to_string(t) + "-" + std::to_string(a);
      if (t % 2 == 0) {
        const auto r = store->begin_create_binding(
            make_binding("i1", "b" + n), make_op("bop" + n, OperationKind::bind, "i1", "b" + n));
        bindings_started += r == BeginResult::started ? 1 : 0;
      } else {
        const auto r = store->begin_instance_operation(
            "i1", make_op("dop" + n, OperationKind::deprovision, "i1"), ResourceStatus::deleting,
            true);
        deprovision_started += r == BeginResult::started ? 1 : 0;
      }
    }
  });
  // Nothing is ever finished, so either the deprovision won once (and no binding could start
  // after it) or a binding started first (and the deprovision never could).
  EXPECT_LE(deprovision_started.load(), 1);
  if (deprovision_started.load() == 1) {
    EXPECT_EQ(bindings_started.load(), 0);
    EXPECT_EQ(store->get_instance("i1")->status, ResourceStatus::deleting);
  } else {
    EXPECT_GE(bindings_started.load(), 1);
  }
  EXPECT_EQ(store->list_bindings("i1").size(), static_cast<size_t>(bindings_started.load()));
}

// Concurrent writers share transactions (group commit); these check that sharing one changes
// nothing a caller can observe: each write still commits, fails, or refuses on its own.

constexpr int kManyWriters = 32;

// Holds the database's write lock from a connection of its own, so that the store's writes queue
// up behind it and then run as one batch once it is released.
class WriteLockHolder {
 public:
  /// Opens a connection of its own on db_file and takes the write lock.
  explicit WriteLockHolder(const std::string& db_file) {
    EXPECT_EQ(sqlite3_open(db_file.c_str(), &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  /// Releases the lock (if still held) and closes the connection.
  ~WriteLockHolder() {
    release();
    sqlite3_close(db_);
  }
  WriteLockHolder(const WriteLockHolder&) = delete;
  WriteLockHolder& operator=(const WriteLockHolder&) = delete;

  /// Ends the transaction; the store's waiting leader then gets the lock.
  void release() {
    if (sqlite3_get_autocommit(db_) == 0) {
      EXPECT_EQ(sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

// Long enough for every started thread to have queued its write behind the held lock; the
// assertions do not depend on it, only how many writes end up sharing a batch does.
void let_writers_queue() {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

// Lets the writers queue behind lock, then releases it: they run as one batch.
void release_after_writers_queued(WriteLockHolder& lock) {
  let_writers_queue();
  lock.release();
}

TEST(StoreConcurrency, ManyWritersAllCommitSeeTheirOwnWritesAndSurviveReopen) {
  TempDir dir;
  constexpr int kPerThread = 25;
  {
    auto store = open_sqlite_store(dir.data_dir());
    std::atomic<int> mismatches{0};
    on_threads(kManyWriters, [&](int t) {
      for (int n = 0; n < kPerThread; ++n) {
        const std::string id = "i-" + std::to_string(t) + "-" + std::to_string(n);
        auto inst = make_instance(id);
        auto op = make_op("op-" + id, OperationKind::provision, id);
        if (store->begin_create_instance(inst, op) != BeginResult::started) {
          ++mismatches;
          continue;
        }
        // A write that returned is visible to the same caller's next read.
        const auto begun = store->get_instance(id);
        if (!begun || begun->status != ResourceStatus::creating) {
          ++mismatches;
        }
        inst.status = ResourceStatus::ready;
        op.state = OperationState::succeeded;
        store->finish_instance_operation(inst, op);
        const auto finished = store->get_instance(id);
        if (!finished || finished->status != ResourceStatus::ready ||
            finished->active_operation != "") {
          ++mismatches;
        }
      }
    });
    EXPECT_EQ(mismatches.load(), 0);
  }

  auto store = open_sqlite_store(dir.data_dir());
  EXPECT_EQ(store->list_instances().size(), static_cast<size_t>(kManyWriters * kPerThread));
  EXPECT_TRUE(store->list_unfinished_operations().empty());
  for (int t = 0; t < kManyWriters; ++t) {
    for (int n = 0; n < kPerThread; ++n) {
      const std::string id = "i-" + std::to_string(t) + "-" + std::to_string(n);
      const auto inst = store->get_instance(id);
      ASSERT_TRUE(inst) << id;
      EXPECT_EQ(inst->status, ResourceStatus::ready) << id;
      EXPECT_EQ(inst->last_operation, "op-" + id);
      const auto op = store->get_operation("op-" + id);
      ASSERT_TRUE(op) << id;
      EXPECT_EQ(op->state, OperationState::succeeded) << id;
    }
  }
}

TEST(StoreConcurrency, FailingWriteAmongConcurrentWritesFailsOnlyItsCaller) {
  TempDir dir;
  auto store = open_sqlite_store(dir.data_dir());
  create_ready_instance(*store, "existing");

  enum class Seen { started, store_error, other };
  std::vector<Seen> seen(kManyWriters, Seen::other);
  std::vector<std::string> messages(kManyWriters);
  WriteLockHolder lock(dir.db_file());
  on_threads(
      kManyWriters,
      [&](int t) {
        const std::string id = "i" + std::to_string(t);
        auto op = make_op("op-" + id, OperationKind::provision, id);
        if (t % 3 == 0) {
          op.id = "prov-existing";  // taken: the insert of the operation row fails
          op.request = {{"password", "hunter2-secret"}};
        }
        try {
          seen[t] = store->begin_create_instance(make_instance(id), op) == BeginResult::started
                        ? Seen::started
                        : Seen::other;
        } catch (const StoreError& e) {
          seen[t] = Seen::store_error;
          messages[t] = e.what();
        }
      },
      [&] { release_after_writers_queued(lock); });
  for (int t = 0; t < kManyWriters; ++t) {
    const std::string id = "i" + std::to_string(t);
    if (t % 3 == 0) {
      EXPECT_EQ(seen[t], Seen::store_error) << t;
      EXPECT_THAT(messages[t], HasSubstr("UNIQUE")) << t;
      EXPECT_THAT(messages[t], ::testing::Not(HasSubstr("hunter2"))) << t;
      // The instance row the failed write inserted before its operation row is gone too.
      EXPECT_FALSE(store->get_instance(id)) << t;
    } else {
      EXPECT_EQ(seen[t], Seen::started) << t << ": " << messages[t];
      EXPECT_TRUE(store->get_instance(id)) << t;
      EXPECT_TRUE(store->get_operation("op-" + id)) << t;
    }
  }
  EXPECT_EQ(store->get_operation("prov-existing")->instance_id, "existing");
}

TEST(StoreConcurrency, RacingBeginsThatShareABatchStartExactlyOne) {
  TempDir dir;
  auto store = open_sqlite_store(dir.data_dir());
  create_ready_instance(*store, "i1");
  std::atomic<int> started{0};
  std::atomic<int> busy{0};
  std::atomic<int> other{0};
  WriteLockHolder lock(dir.db_file());
  on_threads(
      kManyWriters,
      [&](int t) {
        const auto r = store->begin_instance_operation(
            "i1", make_op("op-" + std::to_string(t), OperationKind::update, "i1"),
            ResourceStatus::ready, true);
        (r == BeginResult::started ? started : r == BeginResult::busy ? busy : other)++;
      },
      [&] { release_after_writers_queued(lock); });
  EXPECT_EQ(started.load(), 1);
  EXPECT_EQ(busy.load(), kManyWriters - 1);
  EXPECT_EQ(other.load(), 0);
  ASSERT_EQ(store->list_unfinished_operations().size(), 1u);
  EXPECT_EQ(store->get_instance("i1")->active_operation, store->list_unfinished_operations()[0].id);
}

TEST(StoreConcurrency, ReadsDoNotWaitForAPendingWrite) {
  TempDir dir;
  auto store = open_sqlite_store(dir.data_dir());
  create_ready_instance(*store, "i1");
  std::atomic<bool> write_returned{false};
  BeginResult result = BeginResult::missing;
  std::string error;
  std::thread writer;
  {
    WriteLockHolder lock(dir.db_file());
    writer = std::thread([&] {
      try {
        result = store->begin_create_instance(make_instance("i2"),
                                              make_op("op-2", OperationKind::provision, "i2"));
      } catch (const StoreError& e) {
        error = e.what();
      }
      write_returned = true;
    });
    let_writers_queue();
    // The write waits for the lock inside its batch; every read still answers, from the last
    // committed state.
    EXPECT_TRUE(store->get_instance("i1"));
    EXPECT_FALSE(store->get_instance("i2"));
    EXPECT_EQ(store->list_instances().size(), 1u);
    EXPECT_EQ(store->latest_operation("i1", "")->id, "prov-i1");
    EXPECT_EQ(store->schema_version(), 4);
    EXPECT_FALSE(write_returned.load());
  }
  writer.join();
  EXPECT_EQ(result, BeginResult::started) << error;
  EXPECT_TRUE(store->get_instance("i2"));
}

// --- crashes ------------------------------------------------------------------------------------

// The child must not return into the test framework: it reports through its exit status.
[[noreturn]] void child_exit(int code) {
  ::_exit(code);
}

TEST(StoreCrash, RecordWrittenJustBeforeKillSurvives) {
  TempDir dir;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      auto store = open_sqlite_store(dir.data_dir());
      auto inst = make_instance("i1");
      auto op = make_op("op-1", OperationKind::provision, "i1");
      if (store->begin_create_instance(inst, op) != BeginResult::started) {
        child_exit(2);
      }
      op.plugin_operation = "tok";
      op.attempts = 2;
      store->update_operation(op);
      ::raise(SIGKILL);
    } catch (...) {
      child_exit(3);
    }
    child_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  auto store = open_sqlite_store(dir.data_dir());
  const auto inst = store->get_instance("i1");
  ASSERT_TRUE(inst);
  EXPECT_EQ(inst->status, ResourceStatus::creating);
  EXPECT_EQ(inst->active_operation, "op-1");
  const auto op = store->get_operation("op-1");
  ASSERT_TRUE(op);
  EXPECT_EQ(op->plugin_operation, "tok");
  EXPECT_EQ(op->attempts, 2);
  ASSERT_EQ(store->list_unfinished_operations().size(), 1u);
}

TEST(StoreCrash, KillDuringAStreamOfWritesLosesNothingAcknowledged) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    try {
      auto store = open_sqlite_store(dir.data_dir());
      for (int i = 0;; ++i) {
        const std::string id = "i" + std::to_string(i);
        if (store->begin_create_instance(make_instance(id, i),
                                         make_op("op" + std::to_string(i), OperationKind::provision,
                                                 id, "", i)) != BeginResult::started) {
          child_exit(2);
        }
        // Acknowledge only after the method returned, as the broker answers the platform.
        if (::write(fds[1], &i, sizeof i) != static_cast<ssize_t>(sizeof i)) {
          child_exit(3);
        }
      }
    } catch (...) {
      child_exit(4);
    }
  }
  ::close(fds[1]);
  int acked = -1;
  int value = 0;
  while (acked < 40 && ::read(fds[0], &value, sizeof value) == static_cast<ssize_t>(sizeof value)) {
    acked = value;
  }
  ::kill(pid, SIGKILL);
  // Drain acknowledgements that were already in the pipe when the child died.
  while (::read(fds[0], &value, sizeof value) == static_cast<ssize_t>(sizeof value)) {
    acked = value;
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_GE(acked, 40);

  auto store = open_sqlite_store(dir.data_dir());
  const auto all = store->list_instances();
  // Everything acknowledged is there; at most one more committed without being acknowledged.
  ASSERT_GE(all.size(), static_cast<size_t>(acked + 1));
  EXPECT_LE(all.size(), static_cast<size_t>(acked + 2));
  for (int i = 0; i <= acked; ++i) {
    EXPECT_TRUE(store->get_instance("i" + std::to_string(i))) << i;
    EXPECT_TRUE(store->get_operation("op" + std::to_string(i))) << i;
  }
  // No half-written transaction: every instance has its operation.
  for (const auto& inst : all) {
    EXPECT_TRUE(store->get_operation(inst.active_operation)) << inst.id;
  }

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.data_dir() + "/osbd.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(StoreCrash, KillDuringConcurrentWritersLosesNothingAcknowledged) {
  // Each writer thread creates and then finishes its own instances in sequence and acknowledges
  // each step through the pipe after the method returned, as the broker answers the platform.
  struct Ack {
    int thread;
    int n;
    int step;  // 1: begin_create_instance returned, 2: finish_instance_operation returned
  };
  constexpr int kWriters = 16;
  constexpr int kAcksBeforeKill = 600;
  TempDir dir;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    try {
      auto store = open_sqlite_store(dir.data_dir());
      std::vector<std::thread> threads;
      for (int t = 0; t < kWriters; ++t) {
        threads.emplace_back([&, t] {
          try {
            for (int n = 0;; ++n) {
              const std::string id = "i-" + std::to_string(t) + "-" + std::to_string(n);
              auto inst = make_instance(id);
              auto op = make_op("op-" + id, OperationKind::provision, id);
              if (store->begin_create_instance(inst, op) != BeginResult::started) {
                child_exit(2);
              }
              // Writes up to PIPE_BUF bytes are atomic, so acks of different threads never mix.
              Ack ack{t, n, 1};
              if (::write(fds[1], &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) {
                child_exit(3);
              }
              inst.status = ResourceStatus::ready;
              op.state = OperationState::succeeded;
              store->finish_instance_operation(inst, op);
              ack.step = 2;
              if (::write(fds[1], &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) {
                child_exit(3);
              }
            }
          } catch (...) {
            child_exit(4);
          }
        });
      }
      for (auto& th : threads) {
        th.join();
      }
    } catch (...) {
      child_exit(4);
    }
    child_exit(5);
  }
  ::close(fds[1]);
  // Highest acknowledged (n, step) per thread; a thread acknowledges in order.
  std::map<int, std::pair<int, int>> acked;
  int total = 0;
  Ack ack{};
  const auto take = [&] {
    auto& a = acked.try_emplace(ack.thread, -1, 0).first->second;
    a = std::max(a, std::pair{ack.n, ack.step});
    ++total;
  };
  while (total < kAcksBeforeKill &&
         ::read(fds[0], &ack, sizeof ack) == static_cast<ssize_t>(sizeof ack)) {
    take();
  }
  ::kill(pid, SIGKILL);
  while (::read(fds[0], &ack, sizeof ack) == static_cast<ssize_t>(sizeof ack)) {
    take();
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_GE(total, kAcksBeforeKill);
  EXPECT_GE(acked.size(), 2u);  // the writers did run side by side

  auto store = open_sqlite_store(dir.data_dir());
  for (const auto& [t, last] : acked) {
    const auto [last_n, last_step] = last;
    for (int n = 0; n <= last_n; ++n) {
      const std::string id = "i-" + std::to_string(t) + "-" + std::to_string(n);
      const auto inst = store->get_instance(id);
      ASSERT_TRUE(inst) << id;
      ASSERT_TRUE(store->get_operation("op-" + id)) << id;
      if (n < last_n || last_step == 2) {
        EXPECT_EQ(inst->status, ResourceStatus::ready) << id;
        EXPECT_EQ(store->get_operation("op-" + id)->state, OperationState::succeeded) << id;
      }
    }
  }
  // Nothing beyond what the writers could have had in flight, and no half-written transaction:
  // every instance has its operation row.
  const auto all = store->list_instances();
  for (const auto& inst : all) {
    const auto op = store->get_operation(inst.last_operation);
    ASSERT_TRUE(op) << inst.id;
    EXPECT_EQ(inst.status == ResourceStatus::ready, op->state == OperationState::succeeded)
        << inst.id;
  }
  size_t acked_instances = 0;
  for (const auto& [t, last] : acked) {
    acked_instances += static_cast<size_t>(last.first + 1);
  }
  EXPECT_GE(all.size(), acked_instances);
  EXPECT_LE(all.size(), acked_instances + kWriters);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.data_dir() + "/osbd.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

}  // namespace
}  // namespace osbd::state

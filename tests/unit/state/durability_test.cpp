#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "state/store.hpp"
#include "test_support.hpp"

namespace osbd::state {
namespace {

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

// --- races --------------------------------------------------------------------------------------

TEST(StoreConcurrency, ExactlyOneBeginWinsOnAnIdleInstance) {
  TempDir dir;
  auto store = open_sqlite_store(dir.data_dir());
  create_ready_instance(*store, "i1");

  std::atomic<int> started{0};
  std::atomic<int> busy{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
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
  }
  for (auto& th : threads) {
    th.join();
  }
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
  std::vector<std::thread> threads;
  for (size_t s = 0; s < stores.size(); ++s) {
    for (int t = 0; t < threads_per_store; ++t) {
      threads.emplace_back([&, s, t] {
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
    }
  }
  for (auto& th : threads) {
    th.join();
  }
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
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
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
  }
  for (auto& th : threads) {
    th.join();
  }
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

}  // namespace
}  // namespace osbd::state

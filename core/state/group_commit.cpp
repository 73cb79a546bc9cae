#include "state/group_commit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "state/store.hpp"

namespace osbd::state::sqlite {

namespace {

// Each caller gets an exception object of its own rather than one shared by every thread of the
// batch. StoreError texts never hold row contents, so passing them on to other callers is safe.
std::exception_ptr store_error(const std::string& text) noexcept {
  try {
    return std::make_exception_ptr(StoreError(text));
  } catch (...) {
    return std::current_exception();  // out of memory: that is the error then
  }
}

// The text of a failure, for the callers it takes down with it. Only a StoreError's text is
// known to be free of row contents; anything else is named by kind only.
std::string error_text(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const StoreError& se) {
    return se.what();
  } catch (...) {
    return "unexpected error";
  }
}

// The GroupCommit whose batch this thread is running, so a write nested in a unit runs inline.
thread_local const GroupCommit* tl_running = nullptr;

}  // namespace

GroupCommit::GroupCommit(Database& db, size_t max_batch, bool sync_log)
    : db_(db), max_batch_(std::max<size_t>(max_batch, 1)), sync_log_(sync_log) {}

GroupCommit::~GroupCommit() {
  // Destroying the store while a method runs is a caller bug that no lock here could repair.
  assert(!leading_ && head_ == nullptr);
  if (wal_fd_ >= 0) {
    ::close(wal_fd_);
  }
}

uint64_t GroupCommit::committed() const {
  std::lock_guard lock(mu_);
  return committed_;
}

void GroupCommit::wait_synced(uint64_t batches) const {
  std::unique_lock lock(mu_);
  synced_cv_.wait(lock, [&] { return synced_ >= batches || !sync_failure_.empty(); });
  if (synced_ < batches) {
    throw StoreError(sync_failure_);
  }
}

std::string GroupCommit::sync_wal() noexcept {
  try {
    if (wal_fd_ < 0) {
      // The WAL exists from the first COMMIT on and is never removed while db is open.
      wal_fd_ = ::open((db_.path() + "-wal").c_str(), O_RDWR | O_CLOEXEC);
      if (wal_fd_ < 0) {
        return db_.describe("sync write-ahead log", std::strerror(errno));
      }
    }
    if (::fdatasync(wal_fd_) != 0) {
      return db_.describe("sync write-ahead log", std::strerror(errno));
    }
    return {};
  } catch (...) {
    return "osbd state store: cannot sync the write-ahead log (out of memory)";
  }
}

std::string GroupCommit::sync_failure() const {
  std::lock_guard lock(mu_);
  return sync_failure_;
}

std::string GroupCommit::commit_failure() const {
  std::lock_guard lock(mu_);
  return commit_failure_;
}

void GroupCommit::note_commit(bool failed, const std::string& text) noexcept {
  std::lock_guard lock(mu_);
  try {
    commit_failure_ = !failed ? std::string() : text.empty() ? std::string("failed") : text;
  } catch (...) {
    // Out of memory for the text: an empty text would read as "committed", so keep a short one
    // (within the small-string buffer, no allocation).
    commit_failure_ = "failed";
  }
}

size_t GroupCommit::queued() const {
  std::lock_guard lock(mu_);
  return queued_;
}

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

bool GroupCommit::running_here() const noexcept {
  return tl_running == this;
}

void GroupCommit::enqueue(Unit& unit) {
  if (tail_ != nullptr) {
    tail_->next = &unit;
  } else {
    head_ = &unit;
  }
  tail_ = &unit;
  ++queued_;
}

void GroupCommit::submit(Unit& unit) {
  std::unique_lock lock(mu_);
  enqueue(unit);
  if (!leading_) {
    leading_ = true;
    unit.state = State::leading;
  }
  // Units queued for lead_queued() may be ahead of this one, so leading once need not reach it:
  // a leader that finds this unit at the head hands the lead to it, that is, leads again.
  while (unit.state != State::done) {
    unit.wake.wait(lock, [&] { return unit.state != State::queued; });
    if (unit.state == State::leading) {
      lead(lock);
    }
  }
  std::exception_ptr error = std::move(unit.error);
  lock.unlock();
  if (error) {
    std::rethrow_exception(error);
  }
}

void GroupCommit::run_async(AsyncUnit& unit, bool lead_now) noexcept {
  Unit& node = unit.node;
  node.fn = [](void* u) {
    auto* au = static_cast<AsyncUnit*>(u);
    au->fn(*au);
  };
  node.arg = &unit;
  node.async = &unit;
  node.next = nullptr;
  node.state = State::queued;
  node.error = nullptr;
  std::unique_lock lock(mu_);
  enqueue(node);
  if (leading_ || !lead_now) {
    return;  // the leader takes it, or lead_queued() will
  }
  leading_ = true;
  head_->state = State::leading;
  lead(lock);
}

void GroupCommit::lead_queued() noexcept {
  std::unique_lock lock(mu_);
  if (leading_ || head_ == nullptr) {
    return;
  }
  leading_ = true;
  head_->state = State::leading;
  lead(lock);
}

void GroupCommit::call_done(Unit* chain) noexcept {
  while (chain != nullptr) {
    Unit* const u = chain;
    chain = u->next;
    AsyncUnit& au = *u->async;
    std::exception_ptr error = std::move(u->error);
    au.done(au, std::move(error));  // may free au, and u with it
  }
}

void GroupCommit::lead(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    // The oldest queued unit is at the front: it queued into an empty queue, was handed the
    // lead, or is left from the leader's previous batch.
    Unit* first = head_;
    Unit* last = first;
    size_t n = 1;
    while (n < max_batch_ && last->next != nullptr) {
      last = last->next;
      ++n;
    }
    head_ = last->next;
    if (head_ == nullptr) {
      tail_ = nullptr;
    }
    last->next = nullptr;
    queued_ -= n;
    const std::string poisoned = sync_failure_;

    // Callers that arrive meanwhile queue up for the next batch.
    lock.unlock();
    uint64_t batch = 0;  // the number run_batch gave it before its COMMIT, if it got that far
    if (poisoned.empty()) {
      batch = run_batch(first);
    } else {
      for (Unit* u = first; u != nullptr; u = u->next) {
        u->error = store_error(poisoned);
      }
    }
    std::string failure;
    if (sync_log_ && poisoned.empty()) {
      // Units that only record an intent go on while the WAL syncs.
      Unit* early = nullptr;
      Unit** link = &first;
      while (*link != nullptr) {
        Unit* const u = *link;
        if (u->async != nullptr && u->async->before_sync) {
          *link = u->next;
          u->next = early;
          early = u;
        } else {
          link = &u->next;
        }
      }
      call_done(early);
      failure = sync_wal();
    }
    lock.lock();

    if (failure.empty()) {
      synced_ = std::max(synced_, batch);
    } else {
      sync_failure_ = failure;
      for (Unit* u = first; u != nullptr; u = u->next) {
        if (!u->error) {
          u->error = store_error(failure);
        }
      }
    }
    synced_cv_.notify_all();
    ++stats_.batches;
    stats_.units += n;
    stats_.largest = std::max(stats_.largest, n);
    // Still under mu_: a woken caller returns, and so destroys its Unit, only after taking mu_.
    // Asynchronous units are chained for their done calls, made once mu_ is released.
    Unit* finished = nullptr;
    for (Unit* u = first; u != nullptr;) {
      Unit* const next = u->next;
      u->state = State::done;
      if (u->async != nullptr) {
        u->next = finished;
        finished = u;
      } else {
        u->wake.notify_one();
      }
      u = next;
    }
    // Keep the lead while the next unit's caller is not waiting for it; hand it to a blocked
    // caller otherwise.
    const bool keep = head_ != nullptr && head_->async != nullptr;
    if (head_ != nullptr && !keep) {
      head_->state = State::leading;
      head_->wake.notify_one();
    } else if (head_ == nullptr) {
      leading_ = false;
    }
    if (finished != nullptr) {
      lock.unlock();
      call_done(finished);
      lock.lock();
    }
    if (!keep) {
      return;
    }
    // Still the leader: nobody else takes the lead while leading_ is set, so head_ is still
    // queued for this thread to run.
  }
}

uint64_t GroupCommit::run_batch(Unit* first) noexcept {
  // A failure of the whole transaction reaches every caller whose unit has no error of its own.
  const auto fail_all = [this, first](const auto& make_text) noexcept {
    std::string text;
    std::exception_ptr oom;
    try {
      text = make_text();
    } catch (...) {
      oom = std::current_exception();
    }
    for (Unit* u = first; u != nullptr; u = u->next) {
      if (!u->error) {
        u->error = oom ? oom : store_error(text);
      }
    }
    note_commit(true, text);
  };

  try {
    db_.exec("BEGIN IMMEDIATE", "begin");
  } catch (...) {
    const auto cause = std::current_exception();
    fail_all([&] { return error_text(cause); });
    return 0;
  }

  for (Unit* u = first; u != nullptr; u = u->next) {
    try {
      // Prepared statements rather than exec: they are kept, so run without parsing each time.
      Statement(db_, "SAVEPOINT unit", "begin write").run();
      tl_running = this;
      u->fn(u->arg);
      tl_running = nullptr;
      Statement(db_, "RELEASE unit", "end write").run();
    } catch (...) {
      tl_running = nullptr;
      u->error = std::current_exception();
      if (!undo_unit()) {
        // SQLite rolled back the whole transaction (disk full, I/O error) or the unit cannot be
        // undone alone: the units before it lost their writes and the ones after it are not run.
        rollback();
        fail_all([&] {
          return db_.describe(
              "write rolled back with its transaction after another write in it failed",
              error_text(u->error));
        });
        return 0;
      }
    }
  }

  // Numbered before its COMMIT: a reader that saw the batch's rows and then reads committed()
  // gets at least this number, so it waits for this batch's sync.
  uint64_t number = 0;
  {
    std::lock_guard lock(mu_);
    number = ++committed_;
  }
  try {
    db_.exec("COMMIT", "commit");
    note_commit(false, {});
  } catch (...) {
    // A failed COMMIT can leave the transaction open; nothing of it may stay behind.
    const auto cause = std::current_exception();
    rollback();
    fail_all([&] { return error_text(cause); });
  }
  return number;
}

bool GroupCommit::undo_unit() noexcept {
  if (db_.autocommit()) {
    return false;
  }
  try {
    Statement(db_, "ROLLBACK TO unit", "undo write").run();
    Statement(db_, "RELEASE unit", "undo write").run();
  } catch (...) {
    return false;
  }
  return !db_.autocommit();
}

void GroupCommit::rollback() noexcept {
  if (db_.autocommit()) {
    return;
  }
  try {
    db_.exec("ROLLBACK", "roll back");
  } catch (...) {
    // Nothing is left to report it to: every caller of the batch already has an error, and the
    // next BEGIN surfaces a connection that is still unusable.
  }
}

}  // namespace osbd::state::sqlite

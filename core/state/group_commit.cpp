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

}  // namespace

thread_local const GroupCommit* GroupCommit::running_ = nullptr;

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
  util::MutexLock lock(mu_);
  return committed_;
}

void GroupCommit::wait_synced(uint64_t batches) const {
  util::UniqueLock lock(mu_);
  while (synced_ < batches && sync_failure_.empty()) {
    lock.wait(synced_cv_);
  }
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
  util::MutexLock lock(mu_);
  return sync_failure_;
}

std::string GroupCommit::commit_failure() const {
  util::MutexLock lock(mu_);
  return commit_failure_;
}

size_t GroupCommit::queued() const {
  util::MutexLock lock(mu_);
  return queued_;
}

GroupCommit::Stats GroupCommit::stats() const {
  util::MutexLock lock(mu_);
  return stats_;
}

bool GroupCommit::running_here() const noexcept {
  return running_ == this;
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
  util::UniqueLock lock(mu_);
  enqueue(unit);
  if (!leading_) {
    leading_ = true;
    unit.state = State::leading;
  }
  // Units queued for lead_queued() may be ahead of this one, so leading once need not reach it:
  // a leader that finds this unit at the head hands the lead to it, that is, leads again.
  while (unit.state != State::done) {
    while (unit.state == State::queued) {
      lock.wait(unit.wake);
    }
    if (unit.state == State::leading) {
      lead();
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
  util::MutexLock lock(mu_);
  enqueue(node);
  if (!leading_ && lead_now) {
    take_lead();
  }
  // Otherwise the leader takes it, or lead_queued() will.
}

void GroupCommit::lead_queued() noexcept {
  util::MutexLock lock(mu_);
  if (!leading_ && head_ != nullptr) {
    take_lead();
  }
}

void GroupCommit::take_lead() {
  leading_ = true;
  head_->state = State::leading;
  lead();
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

void GroupCommit::lead() {
  for (;;) {
    size_t n = 0;
    Unit* first = take_batch(n);
    const std::string poisoned = sync_failure_;
    // Callers that arrive meanwhile queue up for the next batch.
    mu_.unlock();
    const BatchOutcome outcome = execute(first, poisoned);
    mu_.lock();
    record_batch(first, n, outcome);
    Unit* const finished = release_units(first);
    const bool keep = pass_lead();
    if (finished != nullptr) {
      mu_.unlock();
      call_done(finished);
      mu_.lock();
    }
    if (!keep) {
      return;
    }
    // Still the leader: nobody else takes the lead while leading_ is set, so head_ is still
    // queued for this thread to run.
  }
}

GroupCommit::Unit* GroupCommit::take_batch(size_t& n) {
  // The oldest queued unit is at the front: it queued into an empty queue, was handed the lead,
  // or is left from the leader's previous batch.
  Unit* const first = head_;
  Unit* last = first;
  n = 1;
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
  return first;
}

GroupCommit::BatchOutcome GroupCommit::execute(Unit*& first, const std::string& poisoned) noexcept {
  BatchOutcome outcome;
  if (!poisoned.empty()) {
    fail_units(first, poisoned);
    return outcome;
  }
  outcome.number = run_batch(first);
  if (sync_log_) {
    // Units that only record an intent go on while the WAL syncs.
    call_done(take_before_sync(first));
    outcome.sync_failure = sync_wal();
  }
  return outcome;
}

GroupCommit::Unit* GroupCommit::take_before_sync(Unit*& chain) noexcept {
  Unit* early = nullptr;
  Unit** link = &chain;
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
  return early;
}

void GroupCommit::record_batch(Unit* first, size_t n, const BatchOutcome& outcome) {
  if (outcome.sync_failure.empty()) {
    synced_ = std::max(synced_, outcome.number);
  } else {
    sync_failure_ = outcome.sync_failure;
    fail_units(first, outcome.sync_failure);
  }
  synced_cv_.notify_all();
  ++stats_.batches;
  stats_.units += n;
  stats_.largest = std::max(stats_.largest, n);
}

GroupCommit::Unit* GroupCommit::release_units(Unit* first) {
  // Still under mu_: a woken caller returns, and so destroys its Unit, only after taking mu_.
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
  return finished;
}

bool GroupCommit::pass_lead() {
  if (head_ == nullptr) {
    leading_ = false;
    return false;
  }
  // Keep the lead while the next unit's caller is not waiting for it.
  if (head_->async != nullptr) {
    return true;
  }
  head_->state = State::leading;
  head_->wake.notify_one();
  return false;
}

void GroupCommit::fail_units(Unit* chain, const std::string& text,
                             const std::exception_ptr& oom) noexcept {
  for (Unit* u = chain; u != nullptr; u = u->next) {
    if (!u->error) {
      u->error = oom ? oom : store_error(text);
    }
  }
}

}  // namespace osbd::state::sqlite

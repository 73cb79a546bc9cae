// GroupCommit's transaction: one batch of units run between BEGIN IMMEDIATE and COMMIT, each in
// a savepoint of its own. See group_commit.hpp.

#include <exception>
#include <string>

#include "state/group_commit.hpp"
#include "state/store.hpp"

namespace osbd::state::sqlite {

namespace {

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

}  // namespace

void GroupCommit::note_commit(bool failed, const std::string& text) noexcept {
  util::MutexLock lock(mu_);
  try {
    commit_failure_ = !failed ? std::string() : text.empty() ? std::string("failed") : text;
  } catch (...) {
    // Out of memory for the text: an empty text would read as "committed", so keep a short one
    // (within the small-string buffer, no allocation).
    commit_failure_ = "failed";
  }
}

// A failure of the whole transaction reaches every caller whose unit has no error of its own.
template <typename MakeText>
void GroupCommit::fail_batch(Unit* first, const MakeText& make_text) noexcept {
  std::string text;
  std::exception_ptr oom;
  try {
    text = make_text();
  } catch (...) {
    oom = std::current_exception();
  }
  fail_units(first, text, oom);
  note_commit(true, text);
}

uint64_t GroupCommit::run_batch(Unit* first) noexcept {
  if (!begin_batch(first) || !run_units(first)) {
    return 0;
  }
  return commit_batch(first);
}

bool GroupCommit::begin_batch(Unit* first) noexcept {
  try {
    db_.exec("BEGIN IMMEDIATE", "begin");
    return true;
  } catch (...) {
    const auto cause = std::current_exception();
    fail_batch(first, [&] { return error_text(cause); });
    return false;
  }
}

bool GroupCommit::run_units(Unit* first) noexcept {
  for (Unit* u = first; u != nullptr; u = u->next) {
    try {
      // Prepared statements rather than exec: they are kept, so run without parsing each time.
      Statement(db_, "SAVEPOINT unit", "begin write").run();
      running_ = this;
      u->fn(u->arg);
      running_ = nullptr;
      Statement(db_, "RELEASE unit", "end write").run();
    } catch (...) {
      running_ = nullptr;
      u->error = std::current_exception();
      if (!undo_unit()) {
        // SQLite rolled back the whole transaction (disk full, I/O error) or the unit cannot be
        // undone alone: the units before it lost their writes and the ones after it are not run.
        rollback();
        fail_batch(first, [&] {
          return db_.describe(
              "write rolled back with its transaction after another write in it failed",
              error_text(u->error));
        });
        return false;
      }
    }
  }
  return true;
}

uint64_t GroupCommit::commit_batch(Unit* first) noexcept {
  // Numbered before its COMMIT: a reader that saw the batch's rows and then reads committed()
  // gets at least this number, so it waits for this batch's sync.
  uint64_t number = 0;
  {
    util::MutexLock lock(mu_);
    number = ++committed_;
  }
  try {
    db_.exec("COMMIT", "commit");
    note_commit(false, {});
  } catch (...) {
    // A failed COMMIT can leave the transaction open; nothing of it may stay behind.
    const auto cause = std::current_exception();
    rollback();
    fail_batch(first, [&] { return error_text(cause); });
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

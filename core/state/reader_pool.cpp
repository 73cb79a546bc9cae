#include "state/reader_pool.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

namespace osbd::state::sqlite {

namespace {

std::unique_ptr<Database> open_reader(const std::string& path) {
  auto db = std::make_unique<Database>(path, Access::read_only);
  // A reader can still meet a lock for a moment: while another connection recovers the WAL
  // index after a crash, or restarts the WAL after a checkpoint.
  db->exec("PRAGMA busy_timeout = 5000", "set busy_timeout");
  // Outside WAL mode a reader would block on, and be blocked by, the writer's COMMIT.
  Statement st(*db, "PRAGMA journal_mode", "read journal mode");
  if (!st.step() || st.text(0) != "wal") {
    db->fail("read connection is not in WAL journal mode");
  }
  return db;
}

}  // namespace

ReaderPool::ReaderPool(std::string path, size_t size)
    : path_(std::move(path)), size_(std::max<size_t>(size, 1)) {
  idle_.reserve(size_);
}

ReaderPool::~ReaderPool() {
  assert(open_ == idle_.size());
}

ReaderPool::Lease::~Lease() {
  pool_.give_back(std::move(db_));
}

ReaderPool::Lease ReaderPool::acquire() {
  {
    util::UniqueLock lock(mu_);
    while (idle_.empty() && open_ >= size_) {
      lock.wait(returned_);
    }
    if (!idle_.empty()) {
      auto db = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(db));
    }
    ++open_;
  }
  // Opened outside the lock: other readers need not wait for it.
  try {
    return Lease(*this, open_reader(path_));
  } catch (...) {
    util::MutexLock lock(mu_);
    --open_;
    returned_.notify_one();
    throw;
  }
}

void ReaderPool::give_back(std::unique_ptr<Database> db) noexcept {
  util::MutexLock lock(mu_);
  idle_.push_back(std::move(db));
  returned_.notify_one();
}

}  // namespace osbd::state::sqlite

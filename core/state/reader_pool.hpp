#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "state/sqlite_db.hpp"
#include "util/mutex.hpp"

namespace osbd::state::sqlite {

/// Read-only connections to the store's database, lent out one caller at a time.
///
/// Reads go through these rather than the write connection so that they never wait for a batch's
/// COMMIT (its fsync). In WAL mode each statement on them reads the latest committed snapshot: it
/// sees every transaction whose COMMIT returned before the statement started, and nothing of a
/// transaction still open on the write connection.
class ReaderPool {
 public:
  /// Default number of connections; reads are short, so a few serve many threads.
  static constexpr size_t kDefaultSize = 4;

  /// A borrowed connection, given back on destruction. Statements on it must be finished (so
  /// that no read transaction stays open) before the lease ends.
  class Lease {
   public:
    /// The connection, for this thread alone until the lease ends.
    Database& operator*() const noexcept { return *db_; }
    /// Gives the connection back.
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    friend class ReaderPool;
    Lease(ReaderPool& pool, std::unique_ptr<Database> db) : pool_(pool), db_(std::move(db)) {}

    ReaderPool& pool_;
    std::unique_ptr<Database> db_;
  };

  /// Opens connections on path lazily, at most size of them (at least one). The file must be in
  /// WAL mode already: the write connection sets it up first.
  explicit ReaderPool(std::string path, size_t size = kDefaultSize);
  /// Closes every connection; requires that none is lent out.
  ~ReaderPool();
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  /// An idle connection, opening one if none is idle and fewer than size are open, otherwise
  /// waiting for one to come back. Throws StoreError if a connection cannot be opened.
  Lease acquire() OSBD_EXCLUDES(mu_);

 private:
  void give_back(std::unique_ptr<Database> db) noexcept OSBD_EXCLUDES(mu_);

  const std::string path_;
  const size_t size_;
  util::Mutex mu_;
  std::condition_variable returned_;
  // Capacity size_, so giving back never allocates.
  std::vector<std::unique_ptr<Database>> idle_ OSBD_GUARDED_BY(mu_);
  size_t open_ OSBD_GUARDED_BY(mu_) = 0;
};

}  // namespace osbd::state::sqlite

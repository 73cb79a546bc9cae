// Compiled by clang with -Wthread-safety -Werror (tests/unit/core/CMakeLists.txt): correct use of
// util::Mutex compiles; with OSBD_EXPECT_REJECTED each function below must be refused, so that
// the analysis the clang build relies on is known to be on.
#include <condition_variable>

#include "util/mutex.hpp"

namespace {

class Counter {
 public:
  void add() OSBD_EXCLUDES(mu_) {
    osbd::util::MutexLock lock(mu_);
    add_locked();
  }

  void wait_positive() OSBD_EXCLUDES(mu_) {
    osbd::util::UniqueLock lock(mu_);
    while (count_ <= 0) {
      lock.wait(changed_);
    }
  }

#ifdef OSBD_EXPECT_REJECTED
  void add_unlocked() {
    ++count_;
  }  // writes a guarded member without its mutex

  void add_after_unlock() {
    osbd::util::UniqueLock lock(mu_);
    lock.unlock();
    ++count_;  // the mutex was released
  }

  void call_without_lock() {
    add_locked();
  }  // OSBD_REQUIRES not met
#endif

 private:
  void add_locked() OSBD_REQUIRES(mu_) {
    ++count_;
    changed_.notify_all();
  }

  osbd::util::Mutex mu_;
  std::condition_variable changed_;
  int count_ OSBD_GUARDED_BY(mu_) = 0;
};

}  // namespace

int main() {
  Counter counter;
  counter.add();
  counter.wait_positive();
  return 0;
}

#pragma once

// A mutex that clang's thread-safety analysis (-Wthread-safety) understands.
//
// Every member a mutex guards is declared with OSBD_GUARDED_BY(mutex), every function that
// expects a mutex held with OSBD_REQUIRES(mutex); clang then checks at compile time that no
// guarded member is read or written without its mutex. The annotations expand to nothing with
// other compilers. The wrapper costs nothing at run time: it is std::mutex.
//
//   class Counter {
//    public:
//     void add() { util::MutexLock lock(mu_); ++count_; }
//    private:
//     util::Mutex mu_;
//     int count_ OSBD_GUARDED_BY(mu_) = 0;
//   };
//
// Condition variables take a UniqueLock; waits are written as loops over the guarded
// condition, so that the analysis sees the mutex held where the condition is read:
//
//   util::UniqueLock lock(mu_);
//   while (!ready_) lock.wait(cv_);

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define OSBD_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define OSBD_THREAD_ANNOTATION(x)
#endif

#define OSBD_CAPABILITY(name) OSBD_THREAD_ANNOTATION(capability(name))
#define OSBD_SCOPED_CAPABILITY OSBD_THREAD_ANNOTATION(scoped_lockable)
#define OSBD_GUARDED_BY(x) OSBD_THREAD_ANNOTATION(guarded_by(x))
#define OSBD_PT_GUARDED_BY(x) OSBD_THREAD_ANNOTATION(pt_guarded_by(x))
#define OSBD_REQUIRES(...) OSBD_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define OSBD_EXCLUDES(...) OSBD_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define OSBD_ACQUIRE(...) OSBD_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define OSBD_RELEASE(...) OSBD_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define OSBD_RETURN_CAPABILITY(x) OSBD_THREAD_ANNOTATION(lock_returned(x))
#define OSBD_NO_THREAD_SAFETY_ANALYSIS OSBD_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace osbd::util {

/// std::mutex as a capability for the analysis.
class OSBD_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() OSBD_ACQUIRE() { mu_.lock(); }
  void unlock() OSBD_RELEASE() { mu_.unlock(); }

  /// The std::mutex underneath, for std::condition_variable (through UniqueLock only).
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

/// Holds a Mutex for its scope (std::lock_guard).
class OSBD_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) OSBD_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() OSBD_RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

/// Holds a Mutex for its scope and waits on condition variables with it (std::unique_lock).
/// unlock()/lock() release and take it again inside the scope.
class OSBD_SCOPED_CAPABILITY UniqueLock {
 public:
  explicit UniqueLock(Mutex& mu) OSBD_ACQUIRE(mu) : lock_(mu.native()) {}
  ~UniqueLock() OSBD_RELEASE() = default;
  UniqueLock(const UniqueLock&) = delete;
  UniqueLock& operator=(const UniqueLock&) = delete;

  void lock() OSBD_ACQUIRE() { lock_.lock(); }
  void unlock() OSBD_RELEASE() { lock_.unlock(); }

  /// Releases the mutex until cv is notified (or wakes spuriously), then holds it again.
  void wait(std::condition_variable& cv) { cv.wait(lock_); }

  /// As wait(), for at most timeout; false when the time ran out.
  template <class Rep, class Period>
  bool wait_for(std::condition_variable& cv, std::chrono::duration<Rep, Period> timeout) {
    return cv.wait_for(lock_, timeout) == std::cv_status::no_timeout;
  }

  /// As wait(), until deadline; false when the deadline passed.
  template <class Clock, class Duration>
  bool wait_until(std::condition_variable& cv, std::chrono::time_point<Clock, Duration> deadline) {
    return cv.wait_until(lock_, deadline) == std::cv_status::no_timeout;
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace osbd::util

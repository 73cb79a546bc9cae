#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <thread>
#include <utility>

#include "util/mutex.hpp"

namespace osbd::util {

/// Runs a job on a thread of its own every interval, at a fixed rate (the first time one interval
/// after start; a run that overran the next start is followed by one a whole interval later, not
/// by a burst), until destroyed; the destructor wakes the thread and joins it. The job must not
/// throw; the destructor waits for a run in progress.
class Periodic {
 public:
  Periodic(std::chrono::milliseconds interval, std::function<void()> job)
      : interval_(interval), job_(std::move(job)), thread_([this] { run(); }) {}
  ~Periodic() {
    {
      MutexLock lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

 private:
  using Clock = std::chrono::steady_clock;

  void run() OSBD_EXCLUDES(mu_) {
    UniqueLock lock(mu_);
    auto next = Clock::now() + interval_;
    while (!stopping_) {
      if (Clock::now() < next) {
        lock.wait_until(wake_, next);  // woken early (or spuriously): the loop looks again
        continue;
      }
      lock.unlock();
      job_();
      lock.lock();
      next += interval_;
      if (const auto now = Clock::now(); next <= now) {
        next = now + interval_;
      }
    }
  }

  const std::chrono::milliseconds interval_;
  const std::function<void()> job_;
  Mutex mu_;
  std::condition_variable wake_;
  bool stopping_ OSBD_GUARDED_BY(mu_) = false;  // set once, by the destructor
  std::thread thread_;                          // last: starts after the members it reads
};

}  // namespace osbd::util

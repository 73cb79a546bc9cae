#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <thread>
#include <utility>

#include "util/mutex.hpp"

namespace osbd::util {

/// Runs a job on a thread of its own every interval (the first time one interval after start)
/// until destroyed; the destructor wakes the thread and joins it. The job must not throw.
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
  void run() OSBD_EXCLUDES(mu_) {
    UniqueLock lock(mu_);
    while (!stopping_) {
      lock.wait_for(wake_, interval_);
      if (stopping_) {
        break;
      }
      lock.unlock();
      job_();
      lock.lock();
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

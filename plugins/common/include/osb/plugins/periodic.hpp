#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace osb::plugins {

/// A background thread that runs a pass at once and then every interval, or sooner when woken.
/// Declare it as the last member of its owner, so that it stops before what the pass uses is
/// destroyed.
class PeriodicTask {
 public:
  /// Starts the thread. pass should handle its own errors; an exception escaping it is dropped
  /// so that the thread keeps going.
  PeriodicTask(std::chrono::milliseconds interval, std::function<void()> pass);
  /// Not copyable.
  PeriodicTask(const PeriodicTask&) = delete;
  /// Not assignable.
  PeriodicTask& operator=(const PeriodicTask&) = delete;
  /// Stops and joins the thread (waits for a pass in progress).
  ~PeriodicTask();

  /// Starts the next pass now instead of at the end of the interval.
  void wake();

 private:
  void run();

  std::chrono::milliseconds interval_;
  std::function<void()> pass_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace osb::plugins

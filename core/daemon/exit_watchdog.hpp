#pragma once

#include <chrono>
#include <condition_variable>
#include <thread>

#include "util/mutex.hpp"

namespace osbd::daemon {

/// Ends the process when a shutdown takes longer than its bound: plugin calls stuck in flight
/// must not keep osbd from stopping. What was acknowledged is already committed, so leaving at
/// once is as safe as a crash; unfinished operations stay in the store and resume at the next
/// start. Disarmed (and its thread joined) when destroyed.
class ExitWatchdog {
 public:
  ExitWatchdog() = default;
  ~ExitWatchdog();
  ExitWatchdog(const ExitWatchdog&) = delete;
  ExitWatchdog& operator=(const ExitWatchdog&) = delete;

  /// Exits the process (status 0, after a log line) unless disarmed within bound. Once only.
  void arm(std::chrono::seconds bound) OSBD_EXCLUDES(mu_);

 private:
  void watch(std::chrono::seconds bound) OSBD_EXCLUDES(mu_);

  util::Mutex mu_;
  std::condition_variable disarmed_;
  bool done_ OSBD_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace osbd::daemon

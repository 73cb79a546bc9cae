#pragma once

#include <chrono>
#include <cstdint>

#include "util/mutex.hpp"

namespace osbd::util {

/// Lets one event through per interval and counts the ones held back in between, so that a
/// condition that repeats thousands of times a second (a full descriptor table, a full disk)
/// gives one log line per interval instead of a line per occurrence. Thread-safe.
class RateLimit {
 public:
  explicit RateLimit(std::chrono::steady_clock::duration interval) : interval_(interval) {}

  /// Returns true when this occurrence should be reported; suppressed is then set to the number
  /// of occurrences held back since the last one reported.
  bool allow(uint64_t& suppressed) {
    const auto now = std::chrono::steady_clock::now();
    MutexLock lock(mutex_);
    if (reported_once_ && now - last_ < interval_) {
      ++held_back_;
      return false;
    }
    reported_once_ = true;
    last_ = now;
    suppressed = held_back_;
    held_back_ = 0;
    return true;
  }

 private:
  const std::chrono::steady_clock::duration interval_;
  Mutex mutex_;
  bool reported_once_ OSBD_GUARDED_BY(mutex_) = false;
  std::chrono::steady_clock::time_point last_ OSBD_GUARDED_BY(mutex_);
  uint64_t held_back_ OSBD_GUARDED_BY(mutex_) = 0;
};

}  // namespace osbd::util

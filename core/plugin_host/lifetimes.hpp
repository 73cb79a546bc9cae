#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <set>
#include <vector>

#include "util/mutex.hpp"

namespace osbd::plugin_host {

/// The plugins whose library is still open, by serial number. A plugin registers when it is
/// created and leaves once its library is closed, so that a reload can wait until a released
/// plugin is gone before it opens a replacement at the same path.
class Lifetimes {
 public:
  /// Registers a new plugin; returns its serial number.
  uint64_t add() OSBD_EXCLUDES(mu_);
  /// The plugin with this serial number has closed its library: wakes wait_closed().
  void remove(uint64_t serial) OSBD_EXCLUDES(mu_);
  /// Waits until none of serials is open, or until deadline; true when none is.
  bool wait_closed(const std::vector<uint64_t>& serials,
                   std::chrono::steady_clock::time_point deadline) OSBD_EXCLUDES(mu_);

 private:
  bool any_open(const std::vector<uint64_t>& serials) const OSBD_REQUIRES(mu_);

  mutable util::Mutex mu_;
  std::condition_variable closed_;
  std::set<uint64_t> open_ OSBD_GUARDED_BY(mu_);
  uint64_t next_ OSBD_GUARDED_BY(mu_) = 1;
};

/// The process's registry, which every Plugin joins.
Lifetimes& lifetimes();

}  // namespace osbd::plugin_host

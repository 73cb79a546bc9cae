#include "daemon/exit_watchdog.hpp"

#include <unistd.h>

#include "log/log.hpp"

namespace osbd::daemon {

ExitWatchdog::~ExitWatchdog() {
  {
    util::MutexLock lock(mu_);
    done_ = true;
  }
  disarmed_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void ExitWatchdog::arm(std::chrono::seconds bound) {
  if (!thread_.joinable()) {
    thread_ = std::thread([this, bound] { watch(bound); });
  }
}

void ExitWatchdog::watch(std::chrono::seconds bound) {
  const auto until = std::chrono::steady_clock::now() + bound;
  util::UniqueLock lock(mu_);
  while (!done_) {
    if (!lock.wait_until(disarmed_, until) && !done_) {
      log::error("stopped before every call finished: limits.shutdown_timeout_seconds passed",
                 {{"seconds", bound.count()}});
      _exit(0);
    }
  }
}

}  // namespace osbd::daemon

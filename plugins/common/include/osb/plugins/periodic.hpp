#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <osb/sdk/host.hpp>

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

/// Runs check, one step of a background pass (what, e.g. "quota check") on server, so that
/// nothing escapes: an Error it throws (the server is unreachable, a statement failed) is logged
/// as a warning once per distinct message, and once as info when a later run succeeds again;
/// any other exception is logged as an error every time. last_error keeps the message between
/// runs (one string per server, owned by the caller).
template <typename Error, typename Check>
void logged_check(const osb::sdk::Host& host, const std::string& what, const std::string& server,
                  std::string& last_error, Check&& check) {
  try {
    check();
    if (!last_error.empty()) {
      host.info(what + ": server " + server + " is reachable again");
      last_error.clear();
    }
  } catch (const Error& e) {
    if (last_error != e.what()) {
      host.warn(what + " skipped: " + e.what());
      last_error = e.what();
    }
  } catch (const std::exception& e) {
    host.error(what + " failed on server " + server + ": " + e.what());
  }
}

}  // namespace osb::plugins

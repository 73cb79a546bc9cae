#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "plugin_host/plugin.hpp"

namespace osbd::plugin_host {

/// When a call must have answered by.
using Deadline = std::chrono::steady_clock::time_point;

/// A place among a plugin's max_concurrent_calls; released when the last owner lets go. In-process
/// calls hand it to the thread running the plugin, so that a call stuck in the plugin keeps its
/// place after the client was answered.
using CallSlot = std::shared_ptr<void>;

/// How a plugin's host process is doing, for the operator's view.
struct HostStatus {
  std::optional<long> pid;           ///< the host process, while one runs
  std::string state = "up";          ///< "up", "starting", "backing off" or "stopped"
  std::uint64_t restarts = 0;        ///< hosts started after the first
  std::string last_exit;             ///< how the last host ended, "" if none did
  unsigned retry_after_seconds = 0;  ///< while not up: until the next start attempt
};

/// Where a plugin's code runs: inside osbd (InProcessBackend) or in a host process of its own
/// (ProcessBackend). Plugin adds the limits, metrics and error wording both share.
class Backend {
 public:
  Backend();
  virtual ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  /// True when the plugin implements op.
  virtual bool supports(Operation op) const noexcept = 0;
  /// Calls op with request (a JSON object's text); answers by deadline at the latest, with
  /// kStatusTimedOut if the plugin has not. slot is held while the plugin may still run the call.
  /// what names the plugin and the operation for descriptions.
  virtual CallResult call(Operation op, std::string request, Deadline deadline, CallSlot slot,
                          const std::string& what) const = 0;
  /// The host process's state; in-process backends are always up.
  virtual HostStatus status() const = 0;
  /// Serial number in lifetimes(): the backend leaves it once its code is gone (library closed,
  /// host process ended).
  std::uint64_t serial() const noexcept { return serial_; }

 private:
  std::uint64_t serial_;
};

/// The answer to a call of what that started at started and was not answered by deadline.
CallResult timed_out(const std::string& what, Deadline started, Deadline deadline);

}  // namespace osbd::plugin_host

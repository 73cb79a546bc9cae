#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "osb/plugin_abi.h"
#include "plugin_host/settings.hpp"

namespace boost::dll {
class shared_library;
}

namespace osbd::plugin_host {

/// The operations a backend offers, one per slot of osb_plugin_v1.
enum class Operation {
  get_catalog,
  provision,
  deprovision,
  update,
  bind,
  unbind,
  poll,
  usage,  ///< since ABI 1.1; optional
};

/// Name of an operation, for messages and logs.
const char* to_string(Operation op) noexcept;

/// The operation named text (as to_string() names it), if any.
std::optional<Operation> operation_from_string(std::string_view text) noexcept;

/// Statuses the host gives calls the plugin never answered; outside the ABI's OSB_STATUS_* range.
/// The plugin is not there (host restarting, or max_concurrent_calls reached): HTTP 503.
inline constexpr osb_status kStatusUnavailable = 1001;
/// The plugin did not answer within call_timeout_seconds: HTTP 504.
inline constexpr osb_status kStatusTimedOut = 1002;
/// The plugin's host process ended during the call: HTTP 502, safe to retry.
inline constexpr osb_status kStatusCrashed = 1003;

/// What one plugin call returned, copied into host memory.
struct CallResult {
  osb_status status = OSB_STATUS_INTERNAL_ERROR;   ///< the plugin's verdict, or kStatus*
  nlohmann::json body = nlohmann::json::object();  ///< set_result JSON, {} if none
  std::string description;                         ///< set_error text, "" if none
  unsigned retry_after_seconds = 0;                ///< with kStatusUnavailable: when to retry
};

/// What a plugin's table says about it, copied out of the library.
struct PluginInfo {
  std::string name;             ///< reverse-DNS plugin name
  std::string version;          ///< plugin version
  std::string vendor;           ///< vendor display name
  std::uint32_t abi_major = 0;  ///< ABI the plugin was compiled with
  std::uint32_t abi_minor = 0;  ///< ABI the plugin was compiled with
};

/// Counters of one plugin's calls, for the operator's view.
struct CallCounters {
  std::uint64_t in_flight = 0;  ///< calls holding one of max_concurrent_calls
  std::uint64_t timeouts = 0;   ///< calls answered kStatusTimedOut
};

class Backend;
struct HostContextData;
struct HostStatus;

/// A loaded plugin: its identity, its backend (in-process or in a host process of its own) and
/// the limits every call passes: max_concurrent_calls and call_timeout_seconds.
class Plugin {
 public:
  /// A plugin served by backend with settings. signer is the key id that signed the file ("").
  Plugin(std::string file, PluginInfo info, std::shared_ptr<const Backend> backend,
         const PluginSettings& settings, std::string signer = {});
  /// An in-process plugin over a library whose entry table passed the version checks and whose
  /// backend was created, with default settings (unit tests build fakes this way).
  Plugin(std::string file, std::shared_ptr<boost::dll::shared_library> library,
         const osb_plugin_v1* table, std::unique_ptr<HostContextData> host, osb_backend* backend);
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  /// Reverse-DNS plugin name from its table.
  const std::string& name() const noexcept { return info_.name; }
  /// Plugin version from its table.
  const std::string& version() const noexcept { return info_.version; }
  /// Vendor display name from its table.
  const std::string& vendor() const noexcept { return info_.vendor; }
  /// Path of the library file.
  const std::string& file() const noexcept { return file_; }
  /// ABI version the plugin was compiled with, "MAJOR.MINOR".
  std::string abi_version() const;
  /// Key id of the trusted key that signed the file, "" if unsigned.
  const std::string& signer() const noexcept { return signer_; }
  /// How the plugin is called.
  const PluginSettings& settings() const noexcept { return settings_; }
  /// Serial number in lifetimes(), which this plugin leaves once its code is gone.
  uint64_t serial() const noexcept;

  /// True when the plugin offers op: every 1.0 slot always, usage only from a 1.1 table with the
  /// slot set.
  bool supports(Operation op) const noexcept;

  /// Calls an operation with a JSON request. Never throws for plugin misbehaviour: invalid JSON
  /// results, unknown statuses and failures without a description become INTERNAL_ERROR results
  /// whose description names the plugin and the operation; a crashed host kStatusCrashed, a call
  /// past call_timeout_seconds kStatusTimedOut, a call over max_concurrent_calls or for a host
  /// that is restarting kStatusUnavailable. An operation the plugin does not support answers OK
  /// with an empty body. Each call is timed, and counted if it fails, in the broker's metrics.
  CallResult call(Operation op, const nlohmann::json& request) const;

  /// The host process's state (always up in-process).
  HostStatus host_status() const;
  /// Calls in flight and timed out.
  CallCounters counters() const;

 private:
  CallResult call_limited(Operation op, const nlohmann::json& request) const;

  class Limiter;

  std::string file_;
  PluginInfo info_;
  std::shared_ptr<const Backend> backend_;
  PluginSettings settings_;
  std::string signer_;
  std::shared_ptr<Limiter> limiter_;
};

/// Shared ownership for sessions and workers that may outlive a registry swap.
using PluginSharedPtr = std::shared_ptr<const Plugin>;

}  // namespace osbd::plugin_host

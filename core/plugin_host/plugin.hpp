#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "osb/plugin_abi.h"

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

/// What one plugin call returned, copied into host memory.
struct CallResult {
  osb_status status = OSB_STATUS_INTERNAL_ERROR;   ///< the plugin's verdict
  nlohmann::json body = nlohmann::json::object();  ///< set_result JSON, {} if none
  std::string description;                         ///< set_error text, "" if none
};

struct HostContextData;

/// A loaded plugin library with its created backend. The library outlives the backend and every
/// pointer taken from it; destroying the Plugin destroys the backend, then unloads the library,
/// then leaves lifetimes().
class Plugin {
 public:
  /// Takes ownership of a library whose entry table passed the version checks and whose backend
  /// was created. Use load_plugin() to build one.
  Plugin(std::string file, std::shared_ptr<boost::dll::shared_library> library,
         const osb_plugin_v1* table, std::unique_ptr<HostContextData> host, osb_backend* backend);
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  /// Reverse-DNS plugin name from its table.
  const std::string& name() const noexcept { return name_; }
  /// Plugin version from its table.
  const std::string& version() const noexcept { return version_; }
  /// Vendor display name from its table.
  const std::string& vendor() const noexcept { return vendor_; }
  /// Path of the library file.
  const std::string& file() const noexcept { return file_; }
  /// ABI version the plugin was compiled with, "MAJOR.MINOR".
  std::string abi_version() const;
  /// Serial number in lifetimes(), which this plugin leaves once its library is closed.
  uint64_t serial() const noexcept { return serial_; }

  /// True when the plugin offers op: every 1.0 slot always, usage only from a 1.1 table with the
  /// slot set.
  bool supports(Operation op) const noexcept;

  /// Calls an operation with a JSON request. Never throws for plugin misbehaviour: invalid JSON
  /// results, unknown statuses and failures without a description become INTERNAL_ERROR results
  /// whose description names the plugin and the operation. An operation the plugin does not
  /// support answers OK with an empty body. Each call is timed, and counted if it fails, in the
  /// broker's metrics.
  CallResult call(Operation op, const nlohmann::json& request) const;

 private:
  CallResult call_untimed(Operation op, const nlohmann::json& request) const;

  std::string file_;
  std::shared_ptr<boost::dll::shared_library> library_;  // declared first: destroyed last
  const osb_plugin_v1* table_;
  std::unique_ptr<HostContextData> host_;
  osb_backend* backend_;
  std::string name_;
  std::string version_;
  std::string vendor_;
  uint64_t serial_;
};

/// Shared ownership for sessions and workers that may outlive a registry swap.
using PluginSharedPtr = std::shared_ptr<const Plugin>;

}  // namespace osbd::plugin_host

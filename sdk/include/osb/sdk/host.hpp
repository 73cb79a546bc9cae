#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "osb/plugin_abi.h"

namespace osb::sdk {

/// Bytes of the osb_host_v1 layout of ABI 1.0 (its last slot is set_error). A host table that
/// is smaller than this is unusable.
inline constexpr std::size_t host_v1_0_size =
    offsetof(osb_host_v1, set_error) + sizeof(osb_host_v1::set_error);

/// Bytes of the osb_plugin_v1 layout of ABI 1.0 (its last slot is poll).
inline constexpr std::size_t plugin_v1_0_size =
    offsetof(osb_plugin_v1, poll) + sizeof(osb_plugin_v1::poll);

/// Bytes of the osb_plugin_v1 layout of ABI 1.1 (its last slot is instance_usage).
inline constexpr std::size_t plugin_v1_1_size =
    offsetof(osb_plugin_v1, instance_usage) + sizeof(osb_plugin_v1::instance_usage);

/// True when host is a table this SDK can use: same major version and at least the 1.0 slots.
inline bool host_is_usable(const osb_host_v1* host) noexcept {
  return host != nullptr && host->abi_major == OSB_PLUGIN_ABI_VERSION_MAJOR &&
         host->struct_size >= host_v1_0_size && host->set_result != nullptr &&
         host->set_error != nullptr;
}

/// Severity of a log line.
enum class LogLevel {
  debug = OSB_LOG_DEBUG,  ///< diagnostics, usually filtered out
  info = OSB_LOG_INFO,    ///< normal events: an instance was created
  warn = OSB_LOG_WARN,    ///< something odd that the plugin handled
  error = OSB_LOG_ERROR,  ///< something failed
};

/// The host's services as a backend sees them. Log lines go to the broker's log, tagged with the
/// plugin; they must never contain secrets. Thread-safe; valid for the backend's whole life.
class Host {
 public:
  /// Wraps a host table that passed host_is_usable().
  explicit Host(const osb_host_v1* table) noexcept : table_(table) {}

  /// Writes message to the broker log at level.
  void log(LogLevel level, std::string_view message) const noexcept {
    if (table_->log != nullptr) {
      table_->log(table_->context, static_cast<osb_log_level>(level),
                  osb_buffer{message.data(), message.size()});
    }
  }

  /// Logs at debug level.
  void debug(std::string_view message) const noexcept { log(LogLevel::debug, message); }
  /// Logs at info level.
  void info(std::string_view message) const noexcept { log(LogLevel::info, message); }
  /// Logs at warning level.
  void warn(std::string_view message) const noexcept { log(LogLevel::warn, message); }
  /// Logs at error level.
  void error(std::string_view message) const noexcept { log(LogLevel::error, message); }

  /// The host's ABI minor version, to decide whether a slot added after 1.0 may be used.
  std::uint32_t abi_minor() const noexcept { return table_->abi_minor; }

  /// The raw host table, for slots this wrapper does not cover yet. Check struct_size first.
  const osb_host_v1* table() const noexcept { return table_; }

 private:
  const osb_host_v1* table_;
};

}  // namespace osb::sdk

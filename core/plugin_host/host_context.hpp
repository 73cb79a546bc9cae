#pragma once

#include <memory>
#include <string>

#include "osb/plugin_abi.h"

// The host's side of the C ABI: the concrete osb_call and osb_host_context behind the opaque
// handles, and the callback table handed to each plugin.

/// One plugin call's results, filled by the set_result / set_error callbacks.
struct osb_call {
  std::string result;       ///< JSON text copied from set_result
  bool has_result = false;  ///< set_result was called
  std::string error;        ///< description copied from set_error
  bool has_error = false;   ///< set_error was called
};

/// Per-plugin data the log callback needs.
struct osb_host_context {
  std::string plugin_file;  ///< library path, for log lines before the name is known
  std::string plugin_name;  ///< name from the plugin table once read
};

namespace osbd::plugin_host {

/// Owns a plugin's host table and context at a stable address for the plugin's lifetime.
struct HostContextData {
  osb_host_context context;  ///< handed to the plugin as host->context
  osb_host_v1 table{};       ///< the callback table given to the entry point
};

/// Builds the context and table for a plugin file (callbacks filled in, versions set).
std::unique_ptr<HostContextData> make_host_context(const std::string& file);

}  // namespace osbd::plugin_host

#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugin_host/plugin.hpp"

namespace osbd::plugin_host {

/// A plugin that cannot be used; the message names the file, the symbol or field, and both ABI
/// versions where they matter.
class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Loads one library (RTLD_NOW | RTLD_LOCAL), checks its entry table against this host's ABI and
/// creates its backend with configs[plugin name] (or {}). Throws PluginLoadError.
PluginSharedPtr load_plugin(const std::string& file, const nlohmann::json& configs);

/// The "*.so" regular files (or links to them) of dir, in name order. Throws PluginLoadError on a
/// missing or unreadable directory.
std::vector<std::string> plugin_files(const std::string& dir);

/// Throws PluginLoadError when another of loaded has plugin's name.
void check_unique_name(const std::vector<PluginSharedPtr>& loaded, const Plugin& plugin);

/// Loads every "*.so" file in dir, in name order. Throws PluginLoadError on the first failure,
/// on a missing directory, on two plugins with one name, and on a config subtree that names no
/// loaded plugin.
std::vector<PluginSharedPtr> load_plugin_dir(const std::string& dir, const nlohmann::json& configs);

}  // namespace osbd::plugin_host

#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugin_host/host_context.hpp"
#include "plugin_host/in_process.hpp"
#include "plugin_host/plugin.hpp"
#include "plugin_host/settings.hpp"

namespace osbd::plugin_host {

/// A plugin that cannot be used; the message names the file, the symbol or field, and both ABI
/// versions where they matter.
class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A library whose entry table passed the ABI checks, before its backend is created.
struct OpenedLibrary {
  std::shared_ptr<boost::dll::shared_library> library;  ///< keeps the code mapped
  const osb_plugin_v1* table = nullptr;                 ///< the plugin's checked table
  std::unique_ptr<HostContextData> host;                ///< the callbacks handed to it
};

/// Loads one library (RTLD_NOW | RTLD_LOCAL) and checks its entry table against this host's ABI.
/// Throws PluginLoadError.
OpenedLibrary open_library(const std::string& file);

/// Creates the backend of an opened library with the plugin's own configuration. Throws
/// PluginLoadError with the plugin's description when create() fails.
std::shared_ptr<InProcessBackend> create_backend(OpenedLibrary opened, const std::string& file,
                                                 const nlohmann::json& plugin_config);

/// Checks file (check_plugin_file with options.trust), then runs it as configs[plugin name] says
/// (isolation, limits; defaults from options), creating its backend with the rest of that subtree
/// (or {}). With options.default_isolation in_process every plugin loads in-process. Throws
/// PluginLoadError.
PluginSharedPtr load_plugin(const std::string& file, const nlohmann::json& configs,
                            const LoadOptions& options = {});

/// The "*.so" regular files (or links to them) of dir, in name order. Throws PluginLoadError on a
/// missing or unreadable directory.
std::vector<std::string> plugin_files(const std::string& dir);

/// Throws PluginLoadError when another of loaded has plugin's name.
void check_unique_name(const std::vector<PluginSharedPtr>& loaded, const Plugin& plugin);

/// Loads every "*.so" file in dir, in name order. Throws PluginLoadError on the first failure,
/// on a missing directory, on two plugins with one name, and on a config subtree that names no
/// loaded plugin.
std::vector<PluginSharedPtr> load_plugin_dir(const std::string& dir, const nlohmann::json& configs,
                                             const LoadOptions& options = {});

}  // namespace osbd::plugin_host

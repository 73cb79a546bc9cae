#include "plugin_host/loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <set>

#include <boost/dll/shared_library.hpp>

#include "log/log.hpp"
#include "plugin_host/host_context.hpp"
#include "plugin_host/process.hpp"
#include "plugin_host/spawn.hpp"
#include "plugin_host/trust.hpp"

namespace osbd::plugin_host {
namespace {

// The 1.0 table ends with the poll slot; anything shorter predates the ABI.
constexpr std::size_t kMinPluginTableSize =
    offsetof(osb_plugin_v1, poll) + sizeof(osb_operation_fn);
// ABI 1.1 added the usage slot.
constexpr std::size_t kPluginTableSize_1_1 =
    offsetof(osb_plugin_v1, instance_usage) + sizeof(osb_operation_fn);

std::string version_text(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

const std::string kHostVersion =
    version_text(OSB_PLUGIN_ABI_VERSION_MAJOR, OSB_PLUGIN_ABI_VERSION_MINOR);

void check_table(const std::string& file, const osb_plugin_v1* table) {
  if (table == nullptr) {
    throw PluginLoadError(file +
                          ": entry symbol '" OSB_PLUGIN_ENTRY_SYMBOL
                          "' returned no plugin table (the plugin refused this host, ABI " +
                          kHostVersion + ")");
  }
  const std::string plugin_version = version_text(table->abi_major, table->abi_minor);
  if (table->abi_major != OSB_PLUGIN_ABI_VERSION_MAJOR) {
    throw PluginLoadError(file + ": plugin ABI major version mismatch: plugin " + plugin_version +
                          ", host " + kHostVersion + " (rebuild the plugin against this SDK)");
  }
  if (table->abi_minor > OSB_PLUGIN_ABI_VERSION_MINOR) {
    throw PluginLoadError(file + ": plugin ABI version " + plugin_version +
                          " is newer than the host's " + kHostVersion +
                          " (upgrade osbd or build the plugin against an older SDK)");
  }
  // A table must hold every slot of the minor version it declares.
  const std::size_t required = table->abi_minor >= 1 ? kPluginTableSize_1_1 : kMinPluginTableSize;
  if (table->struct_size < required) {
    throw PluginLoadError(file + ": plugin table struct_size " +
                          std::to_string(table->struct_size) + " is smaller than the ABI " +
                          plugin_version + " layout (" + std::to_string(required) + " bytes)");
  }
  if (table->name == nullptr || *table->name == '\0') {
    throw PluginLoadError(file + ": plugin table field 'name' is empty");
  }
  const std::pair<const char*, bool> slots[] = {
      {"create", table->create != nullptr},
      {"destroy", table->destroy != nullptr},
      {"get_catalog", table->get_catalog != nullptr},
      {"provision", table->provision != nullptr},
      {"deprovision", table->deprovision != nullptr},
      {"update", table->update != nullptr},
      {"bind", table->bind != nullptr},
      {"unbind", table->unbind != nullptr},
      {"poll", table->poll != nullptr},
  };
  for (const auto& [slot, present] : slots) {
    if (!present) {
      throw PluginLoadError(file + ": plugin table field '" + slot + "' is NULL");
    }
  }
}

}  // namespace

OpenedLibrary open_library(const std::string& file) {
  auto library = std::make_shared<boost::dll::shared_library>();
  boost::dll::fs::error_code ec;
  library->load(std::filesystem::absolute(file), ec,
                boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec) {
    const char* detail = dlerror();
    throw PluginLoadError(file + ": cannot load library: " +
                          (detail != nullptr ? std::string(detail) : ec.message()));
  }
  if (!library->has(OSB_PLUGIN_ENTRY_SYMBOL)) {
    throw PluginLoadError(file +
                          ": missing entry symbol '" OSB_PLUGIN_ENTRY_SYMBOL
                          "' (declare the plugin with OSB_DECLARE_PLUGIN, host ABI " +
                          kHostVersion + ")");
  }
  auto entry = library->get<const osb_plugin_v1*(const osb_host_v1*)>(OSB_PLUGIN_ENTRY_SYMBOL);
  auto host = make_host_context(file);
  const osb_plugin_v1* table = entry(&host->table);
  check_table(file, table);
  host->context.plugin_name = table->name;
  return OpenedLibrary{std::move(library), table, std::move(host)};
}

std::shared_ptr<InProcessBackend> create_backend(OpenedLibrary opened, const std::string& file,
                                                 const nlohmann::json& plugin_config) {
  const std::string config_text = plugin_config.dump();
  osb_call call;
  const osb_plugin_v1* table = opened.table;
  osb_backend* backend =
      table->create(&opened.host->table, osb_buffer{config_text.data(), config_text.size()}, &call);
  if (backend == nullptr) {
    throw PluginLoadError(file + " (" + table->name + "): create failed: " +
                          (call.has_error && !call.error.empty()
                               ? call.error
                               : std::string("no description given (a plugin bug)")));
  }
  return std::make_shared<InProcessBackend>(std::move(opened.library), table,
                                            std::move(opened.host), backend);
}

namespace {

// configs[name], or {} when the configuration names no such plugin.
nlohmann::json subtree_of(const nlohmann::json& configs, const std::string& name) {
  if (configs.is_object() && configs.contains(name) && configs.at(name).is_object()) {
    return configs.at(name);
  }
  return nlohmann::json::object();
}

PluginSharedPtr load_in_process(const std::string& file, const nlohmann::json& configs,
                                const std::string& signer) {
  OpenedLibrary opened = open_library(file);
  const PluginInfo info = info_of(*opened.table);
  const nlohmann::json subtree = subtree_of(configs, info.name);
  const PluginSettings settings = settings_of(subtree, Isolation::in_process);
  auto backend = create_backend(std::move(opened), file, plugin_config_of(subtree));
  return std::make_shared<const Plugin>(file, info, std::move(backend), settings, signer);
}

// The plugin in a host process of its own, or nullptr when its configuration says in-process.
PluginSharedPtr load_in_host(const std::string& file, const nlohmann::json& configs,
                             const LoadOptions& options, const std::string& signer) {
  PluginSettings chosen;
  const auto configure = [&](const PluginInfo& info) -> std::optional<HostConfig> {
    const nlohmann::json subtree = subtree_of(configs, info.name);
    chosen = settings_of(subtree, Isolation::process);
    if (chosen.isolation == Isolation::in_process) {
      return std::nullopt;
    }
    return HostConfig{plugin_config_of(subtree), chosen};
  };
  const std::string executable =
      options.host_executable.empty() ? find_host_executable() : options.host_executable;
  auto launched = ProcessBackend::launch(executable, file, configure);
  if (!launched.backend) {
    return nullptr;
  }
  return std::make_shared<const Plugin>(file, std::move(launched.info), std::move(launched.backend),
                                        chosen, signer);
}

// A plugin that may hold every worker thread is worth a word to the operator.
void warn_about_limits(const Plugin& plugin, unsigned worker_threads) {
  if (worker_threads != 0 && plugin.settings().max_concurrent_calls >= worker_threads) {
    log::warn(
        "a slow plugin could hold every worker thread: set its max_concurrent_calls below "
        "limits.worker_threads",
        {{"plugin", plugin.name()},
         {"max_concurrent_calls", plugin.settings().max_concurrent_calls},
         {"worker_threads", worker_threads}});
  }
}

}  // namespace

PluginSharedPtr load_plugin(const std::string& file, const nlohmann::json& configs,
                            const LoadOptions& options) {
  const TrustVerdict verdict = check_plugin_file(file, options.trust);
  PluginSharedPtr plugin;
  if (options.default_isolation == Isolation::process) {
    plugin = load_in_host(file, configs, options, verdict.signer_key_id);
  }
  if (!plugin) {
    plugin = load_in_process(file, configs, verdict.signer_key_id);
  }
  warn_about_limits(*plugin, options.worker_threads);
  return plugin;
}

void check_unique_name(const std::vector<PluginSharedPtr>& loaded, const Plugin& plugin) {
  for (const auto& other : loaded) {
    if (other->name() == plugin.name()) {
      throw PluginLoadError(plugin.file() + ": plugin name '" + plugin.name() +
                            "' is already used by " + other->file());
    }
  }
}

std::vector<std::string> plugin_files(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw PluginLoadError(dir + ": plugin directory does not exist or is not a directory");
  }
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".so") {
      files.push_back(entry.path().string());
    }
  }
  if (ec) {
    throw PluginLoadError(dir + ": cannot list the plugin directory: " + ec.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<PluginSharedPtr> load_plugin_dir(const std::string& dir, const nlohmann::json& configs,
                                             const LoadOptions& options) {
  const std::vector<std::string> files = plugin_files(dir);
  std::vector<PluginSharedPtr> plugins;
  std::set<std::string> names;
  for (const auto& file : files) {
    auto plugin = load_plugin(file, configs, options);
    check_unique_name(plugins, *plugin);
    names.insert(plugin->name());
    plugins.push_back(std::move(plugin));
  }
  if (configs.is_object()) {
    for (const auto& [name, value] : configs.items()) {
      if (names.count(name) == 0) {
        throw PluginLoadError("plugins." + name +
                              ": configuration given for a plugin that is not in " + dir);
      }
    }
  }
  return plugins;
}

}  // namespace osbd::plugin_host

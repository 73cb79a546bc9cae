#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalogs.hpp"
#include "config/config.hpp"
#include "plugin_host/plugin.hpp"
#include "state/store.hpp"

namespace osbd::reload {

/// Why start-up must not go on with these plugins: live instances whose plan no loaded plugin
/// offers (their plugin was removed or replaced by one without their plan). "" when none.
std::string check_live_instances(state::Store& store, const catalog::Registry& registry,
                                 const std::string& plugin_dir);

/// Applies changes of the plugin directory and of the catalogs while osbd serves.
///
/// A thread watches the plugin directory with inotify (a file closed after writing, or moved
/// in, out or away) and rescans it about 100 ms after the last event; trigger(true) (SIGHUP)
/// also rereads the configuration file: its catalogs, the plugins' settings (for plugins loaded
/// from then on) and log_level. Each rescan:
///   - loads every new *.so like start-up does (ABI checks, catalog validation, unique names and
///     ids); one that fails is refused with start-up's message, changes nothing, and is not tried
///     again until its file changes or the configuration is reread;
///   - unloads a removed plugin, and reloads a replaced one (after requests still using the old
///     one finish), unless instances use it: then the loaded one stays until the next restart,
///     with a message saying so;
///   - publishes the new catalogs; requests already routed finish with the old ones.
class Reloader {
 public:
  /// What a rescan publishes: catalogs over the plugins loaded now.
  using Publish = std::function<void(std::shared_ptr<const catalog::Catalogs>)>;

  /// config is the running configuration (after command-line overrides); plugins are those
  /// loaded at start-up from config.plugin_dir.
  Reloader(config::BrokerConfig config, std::vector<plugin_host::PluginSharedPtr> plugins,
           state::Store& store, Publish publish);
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  /// Starts the thread that rescans on inotify events and trigger(). Without inotify (its limits
  /// reached) it logs a warning and rescans on trigger() only. Throws std::system_error when no
  /// thread can be started.
  void start();
  /// Asks for a rescan (and with reread_config, a reread of the configuration file) soon.
  void trigger(bool reread_config);
  /// Rescans now, on the calling thread (start() runs this on its thread).
  void rescan(bool reread_config);
  /// Stops the watching thread.
  void stop();

 private:
  struct FileId {
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileId& o) const {
      return device == o.device && inode == o.inode && size == o.size && mtime_ns == o.mtime_ns;
    }
    bool operator!=(const FileId& o) const { return !(*this == o); }
  };
  struct Loaded {
    plugin_host::PluginSharedPtr plugin;
    FileId id;
  };
  struct Held {  // a plugin file removed or replaced while instances use it
    FileId id;   // what the file is now (device 0: removed)
    std::string message;
  };

  static std::map<std::string, FileId> list_plugin_files(const std::string& dir);
  std::vector<plugin_host::PluginSharedPtr> loaded_plugins() const;
  std::vector<catalog::Refusal> refusals() const;
  void run();

  std::mutex rescan_mutex_;  // one rescan at a time
  config::BrokerConfig config_;
  std::map<std::string, Loaded> loaded_;  // file → plugin
  std::map<std::string, Held> held_;      // file → why the loaded plugin stays
  std::map<std::string, Held> refused_;   // file → why it is not loaded
  std::shared_ptr<const catalog::Registry> registry_;
  state::Store& store_;
  Publish publish_;

  std::mutex wake_mutex_;
  bool pending_ = false;
  bool pending_reread_ = false;
  bool stopping_ = false;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the watching thread
  std::thread thread_;
};

}  // namespace osbd::reload

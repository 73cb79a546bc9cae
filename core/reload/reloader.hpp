#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalogs.hpp"
#include "config/config.hpp"
#include "plugin_host/plugin.hpp"
#include "reload/plan.hpp"
#include "state/store.hpp"
#include "util/mutex.hpp"

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
  void trigger(bool reread_config) OSBD_EXCLUDES(wake_mutex_);
  /// Rescans now, on the calling thread (start() runs this on its thread).
  void rescan(bool reread_config) OSBD_EXCLUDES(rescan_mutex_);
  /// Stops the watching thread.
  void stop();

 private:
  struct Loaded {
    plugin_host::PluginSharedPtr plugin;
    FileId id;
  };

  static Listing list_plugin_files(const std::string& dir);
  // Takes the reloadable settings of the configuration file into cfg; false when it is invalid.
  bool reread_config(config::BrokerConfig& cfg) const OSBD_REQUIRES(rescan_mutex_);
  Known known() const OSBD_REQUIRES(rescan_mutex_);
  std::map<std::string, int64_t> instance_counts() const OSBD_REQUIRES(rescan_mutex_);
  void apply(const Plan& plan, const Listing& files, config::BrokerConfig cfg)
      OSBD_REQUIRES(rescan_mutex_);
  // Unloads plan.release from loaded_; returns the plugins' serial numbers.
  std::vector<uint64_t> release(const Plan& plan, const Listing& files)
      OSBD_REQUIRES(rescan_mutex_);
  static void wait_released(const std::vector<uint64_t>& serials);
  void load(const std::string& file, const FileId& id, const config::BrokerConfig& cfg)
      OSBD_REQUIRES(rescan_mutex_);
  void publish(const config::BrokerConfig& with) OSBD_REQUIRES(rescan_mutex_);
  // Publishes with cfg and makes it the running configuration, or keeps the running one.
  void publish_config(config::BrokerConfig cfg) OSBD_REQUIRES(rescan_mutex_);
  std::vector<plugin_host::PluginSharedPtr> loaded_plugins() const OSBD_REQUIRES(rescan_mutex_);
  std::vector<catalog::Refusal> refusals() const OSBD_REQUIRES(rescan_mutex_);
  // Reads the queued inotify events; true when one concerns a *.so file.
  bool read_events();
  // Takes what trigger() asked for into dirty and reread; false once stop() was called.
  bool take_wakeup(bool& dirty, bool& reread) OSBD_EXCLUDES(wake_mutex_);
  void run();

  const std::string plugin_dir_;
  state::Store& store_;
  const Publish publish_;

  util::Mutex rescan_mutex_;  // one rescan at a time
  config::BrokerConfig config_ OSBD_GUARDED_BY(rescan_mutex_);
  std::map<std::string, Loaded> loaded_ OSBD_GUARDED_BY(rescan_mutex_);  // file → plugin
  std::map<std::string, Mark> held_ OSBD_GUARDED_BY(rescan_mutex_);      // file → why it stays
  std::map<std::string, Mark> refused_ OSBD_GUARDED_BY(rescan_mutex_);   // file → why not loaded
  std::shared_ptr<const catalog::Registry> registry_ OSBD_GUARDED_BY(rescan_mutex_);

  util::Mutex wake_mutex_;
  bool pending_ OSBD_GUARDED_BY(wake_mutex_) = false;
  bool pending_reread_ OSBD_GUARDED_BY(wake_mutex_) = false;
  bool stopping_ OSBD_GUARDED_BY(wake_mutex_) = false;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the watching thread
  std::thread thread_;
};

}  // namespace osbd::reload

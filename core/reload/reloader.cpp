#include "reload/reloader.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <system_error>

#include "log/log.hpp"
#include "plugin_host/loader.hpp"

namespace osbd::reload {

using nlohmann::json;

namespace {

constexpr int kQuietMs = 100;  // a rescan waits for this long without new events
constexpr auto kReleaseWait = std::chrono::seconds(5);

bool ends_with_so(std::string_view name) {
  return name.size() > 3 && name.substr(name.size() - 3) == ".so";
}

json service_names(const plugin_host::Plugin& plugin, const catalog::Registry& registry) {
  json names = json::array();
  for (const json* service : registry.services_of(plugin)) {
    names.push_back(service->at("name"));
  }
  return names;
}

}  // namespace

std::string check_live_instances(state::Store& store, const catalog::Registry& registry,
                                 const std::string& plugin_dir) {
  std::string missing;
  for (const auto& plan : store.count_instances_by_plan()) {
    if (registry.find_plan(plan.service_id, plan.plan_id) == nullptr) {
      missing += (missing.empty() ? "" : ", ") + std::to_string(plan.instances) +
                 " instance(s) of service " + plan.service_id + " plan " + plan.plan_id;
    }
  }
  if (missing.empty()) {
    return "";
  }
  return "the state store holds " + missing + ", which no plugin in " + plugin_dir +
         " offers; osbd does not drop live instances: put their plugin back in " + plugin_dir +
         " (and deprovision them through it before removing it)";
}

Reloader::Reloader(config::BrokerConfig config, std::vector<plugin_host::PluginSharedPtr> plugins,
                   state::Store& store, Publish publish)
    : config_(std::move(config)), store_(store), publish_(std::move(publish)) {
  const auto files = list_plugin_files(config_.plugin_dir);
  for (auto& plugin : plugins) {
    const auto it = files.find(plugin->file());
    loaded_[plugin->file()] = Loaded{plugin, it == files.end() ? FileId{} : it->second};
  }
  registry_ = catalog::Registry::build(plugins);
}

Reloader::~Reloader() {
  stop();
}

std::map<std::string, Reloader::FileId> Reloader::list_plugin_files(const std::string& dir) {
  std::map<std::string, FileId> files;
  for (const auto& file : plugin_host::plugin_files(dir)) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
      continue;  // gone since it was listed
    }
    files[file] = FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                         static_cast<int64_t>(st.st_size),
                         static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }
  return files;
}

std::vector<plugin_host::PluginSharedPtr> Reloader::loaded_plugins() const {
  std::vector<plugin_host::PluginSharedPtr> plugins;
  for (const auto& [file, loaded] : loaded_) {
    plugins.push_back(loaded.plugin);
  }
  return plugins;
}

std::vector<catalog::Refusal> Reloader::refusals() const {
  std::vector<catalog::Refusal> out;
  for (const auto* map : {&refused_, &held_}) {
    for (const auto& [file, held] : *map) {
      out.push_back({file, held.message});
    }
  }
  return out;
}

void Reloader::rescan(bool reread_config) {
  std::lock_guard<std::mutex> lock(rescan_mutex_);
  config::BrokerConfig cfg = config_;
  if (reread_config) {
    try {
      const config::BrokerConfig fresh = config::load_file(config_.source);
      cfg.catalogs = fresh.catalogs;
      cfg.plugins = fresh.plugins;
      cfg.log_level = fresh.log_level;
      refused_.clear();  // settings may have changed what a plugin needs: try them again
      log::info("configuration reread",
                {{"file", config_.source},
                 {"applied", "catalogs, plugins (for plugins loaded from now on), log_level"}});
    } catch (const config::ConfigError& e) {
      log::error("configuration not reloaded: the running one stays", {{"error", e.what()}});
      reread_config = false;
    }
  }
  std::map<std::string, FileId> files;
  try {
    files = list_plugin_files(cfg.plugin_dir);
  } catch (const std::exception& e) {
    log::error("plugin directory not rescanned", {{"error", e.what()}});
    return;
  }

  bool changed = reread_config;
  std::vector<std::string> to_load;
  std::vector<std::weak_ptr<const plugin_host::Plugin>> released;
  std::optional<std::map<std::string, int64_t>> instances;  // plugin name → instances
  for (auto it = loaded_.begin(); it != loaded_.end();) {
    const auto& [file, loaded] = *it;
    const auto now = files.find(file);
    const bool removed = now == files.end();
    if (!removed && now->second == loaded.id) {
      held_.erase(file);
      ++it;
      continue;
    }
    const FileId id = removed ? FileId{} : now->second;
    const auto& plugin = *loaded.plugin;
    if (!instances) {  // read once per rescan, and only when a loaded plugin's file changed
      instances = registry_->instances_per_plugin(store_.count_instances_by_plan());
    }
    if (const int64_t n = instances->count(plugin.name()) != 0 ? instances->at(plugin.name()) : 0;
        n > 0) {
      const auto held = held_.find(file);
      if (held == held_.end() || held->second.id != id) {
        const std::string message =
            file + " (" + plugin.name() + " " + plugin.version() +
            "): " + (removed ? "removed" : "replaced") + " while " + std::to_string(n) +
            " instance(s) use it; the loaded plugin keeps serving, and the change takes effect at "
            "the next restart, which refuses to start while live instances have no plugin";
        log::error("plugin change refused", {{"file", file}, {"error", message}});
        held_[file] = Held{id, message};
        changed = true;
      }
      ++it;
      continue;
    }
    log::info("plugin unloaded", {{"file", file},
                                  {"plugin", plugin.name()},
                                  {"version", plugin.version()},
                                  {"reason", removed ? "removed" : "replaced"}});
    released.push_back(loaded.plugin);
    if (!removed) {
      to_load.push_back(file);
    }
    held_.erase(file);
    it = loaded_.erase(it);
    changed = true;
  }
  for (auto it = held_.begin(); it != held_.end();) {
    it = loaded_.count(it->first) == 0 ? held_.erase(it) : std::next(it);
  }
  for (auto it = refused_.begin(); it != refused_.end();) {
    const auto now = files.find(it->first);
    if (now == files.end() || now->second != it->second.id) {
      it = refused_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  for (const auto& [file, id] : files) {
    if (loaded_.count(file) == 0 && refused_.count(file) == 0 &&
        std::find(to_load.begin(), to_load.end(), file) == to_load.end()) {
      to_load.push_back(file);
    }
  }
  std::sort(to_load.begin(), to_load.end());

  const auto publish = [&](const config::BrokerConfig& with) {
    registry_ = catalog::Registry::build(loaded_plugins());
    auto catalogs = catalog::Catalogs::build(registry_, with.catalogs, refusals());
    for (const auto& warning : catalogs->warnings()) {
      log::warn("catalog selection", {{"warning", warning}});
    }
    publish_(std::move(catalogs));
  };

  if (!released.empty()) {
    // Unpublish them, then wait until the requests still using them finish, so that the library
    // is closed before a replacement with the same path is opened.
    publish(config_);
    const auto deadline = std::chrono::steady_clock::now() + kReleaseWait;
    const auto in_use = [&] {
      return std::any_of(released.begin(), released.end(),
                         [](const auto& weak) { return !weak.expired(); });
    };
    while (in_use() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (in_use()) {
      log::warn("an unloaded plugin is still in use by a request; a replacement may load later",
                {{"waited_seconds", static_cast<int>(kReleaseWait.count())}});
    }
  }

  for (const auto& file : to_load) {
    try {
      auto plugin = plugin_host::load_plugin(file, cfg.plugins);
      auto plugins = loaded_plugins();
      plugin_host::check_unique_name(plugins, *plugin);
      plugins.push_back(plugin);
      // The same checks as start-up: the merged catalog, then every configured catalog over it.
      const auto registry = catalog::Registry::build(plugins);
      catalog::Catalogs::build(registry, cfg.catalogs);
      log::info("plugin loaded", {{"file", file},
                                  {"plugin", plugin->name()},
                                  {"version", plugin->version()},
                                  {"vendor", plugin->vendor()},
                                  {"abi", plugin->abi_version()},
                                  {"services", service_names(*plugin, *registry)}});
      loaded_[file] = Loaded{std::move(plugin), files.at(file)};
    } catch (const std::exception& e) {
      log::error("plugin refused", {{"file", file}, {"error", e.what()}});
      refused_[file] = Held{files.at(file), e.what()};
    }
    changed = true;
  }

  if (!changed) {
    return;
  }
  try {
    publish(cfg);
    config_ = std::move(cfg);
    log::set_min_level(config_.log_level);
  } catch (const std::exception& e) {
    // Only reread catalogs can fail here (each plugin was checked against them): keep the
    // running catalogs over the plugins loaded now.
    log::error("catalogs not reloaded: the running ones stay", {{"error", e.what()}});
    publish(config_);
  }
}

void Reloader::start() {
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0 ||
      ::inotify_add_watch(inotify_fd_, config_.plugin_dir.c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
    // Without a watch (inotify limits reached), SIGHUP still rescans.
    log::warn("the plugin directory is not watched: send SIGHUP after changing it",
              {{"plugin_dir", config_.plugin_dir},
               {"error", std::error_code(errno, std::generic_category()).message()}});
    if (inotify_fd_ >= 0) {
      ::close(inotify_fd_);
      inotify_fd_ = -1;
    }
  }
  thread_ = std::thread([this] { run(); });
}

void Reloader::trigger(bool reread_config) {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    pending_ = true;
    pending_reread_ = pending_reread_ || reread_config;
  }
  if (stop_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(stop_fd_, &one, sizeof one);
  }
}

void Reloader::stop() {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  for (int* fd : {&inotify_fd_, &stop_fd_}) {
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  }
}

void Reloader::run() {
  bool dirty = false;
  bool reread = false;
  alignas(inotify_event) char buffer[8192];
  for (;;) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, dirty ? kQuietMs : -1);
    if (ready < 0 && errno != EINTR) {
      log::error("plugin directory watch failed; SIGHUP still rescans",
                 {{"error", std::error_code(errno, std::generic_category()).message()}});
      return;
    }
    if (ready == 0) {
      try {
        rescan(reread);
      } catch (const std::exception& e) {
        log::error("plugin rescan failed", {{"error", e.what()}});
      }
      dirty = false;
      reread = false;
      continue;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      ssize_t n = 0;
      while ((n = ::read(inotify_fd_, buffer, sizeof buffer)) > 0) {
        for (char* p = buffer; p < buffer + n;) {
          const auto* event = reinterpret_cast<const inotify_event*>(p);
          if (event->len > 0 && ends_with_so(event->name)) {
            dirty = true;
          }
          p += sizeof(inotify_event) + event->len;
        }
      }
    }
    if ((fds[1].revents & POLLIN) != 0) {
      uint64_t count = 0;
      [[maybe_unused]] const auto n = ::read(stop_fd_, &count, sizeof count);
      std::lock_guard<std::mutex> lock(wake_mutex_);
      if (stopping_) {
        return;
      }
      if (pending_) {
        dirty = true;
        reread = reread || pending_reread_;
        pending_ = false;
        pending_reread_ = false;
      }
    }
  }
}

}  // namespace osbd::reload

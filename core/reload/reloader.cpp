#include "reload/reloader.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <system_error>

#include "log/log.hpp"
#include "plugin_host/lifetimes.hpp"
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
    : plugin_dir_(config.plugin_dir),
      store_(store),
      publish_(std::move(publish)),
      config_(std::move(config)) {
  const auto files = list_plugin_files(plugin_dir_);
  for (auto& plugin : plugins) {
    const auto it = files.find(plugin->file());
    loaded_[plugin->file()] = Loaded{plugin, it == files.end() ? FileId{} : it->second};
  }
  registry_ = catalog::Registry::build(plugins);
}

Reloader::~Reloader() {
  stop();
}

Listing Reloader::list_plugin_files(const std::string& dir) {
  Listing files;
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
    for (const auto& [file, mark] : *map) {
      out.push_back({file, mark.message});
    }
  }
  return out;
}

Known Reloader::known() const {
  Known known;
  for (const auto& [file, loaded] : loaded_) {
    known.loaded[file] = LoadedFile{loaded.id, loaded.plugin->name(), loaded.plugin->version()};
  }
  known.held = held_;
  known.refused = refused_;
  return known;
}

std::map<std::string, int64_t> Reloader::instance_counts() const {
  return registry_->instances_per_plugin(store_.count_instances_by_plan());
}

bool Reloader::reread_config(config::BrokerConfig& cfg) const {
  try {
    const config::BrokerConfig fresh = config::load_file(config_.source);
    cfg.catalogs = fresh.catalogs;
    cfg.plugins = fresh.plugins;
    cfg.plugin_trust = fresh.plugin_trust;
    cfg.log_level = fresh.log_level;
    log::info("configuration reread",
              {{"file", config_.source},
               {"applied",
                "catalogs, plugins and plugin_trust (for plugins loaded from now on), log_level"}});
    return true;
  } catch (const config::ConfigError& e) {
    log::error("configuration not reloaded: the running one stays", {{"error", e.what()}});
    return false;
  }
}

void Reloader::rescan(bool reread_config_file) {
  util::MutexLock lock(rescan_mutex_);
  config::BrokerConfig cfg = config_;
  const bool reread = reread_config_file && reread_config(cfg);
  Listing files;
  try {
    files = list_plugin_files(cfg.plugin_dir);
  } catch (const std::exception& e) {
    log::error("plugin directory not rescanned", {{"error", e.what()}});
    return;
  }
  const Known now = known();
  // The store is read only when a loaded plugin's file changed.
  const auto instances =
      loaded_file_changed(now, files) ? instance_counts() : std::map<std::string, int64_t>{};
  apply(make_plan(now, files, instances, reread), files, std::move(cfg));
}

void Reloader::apply(const Plan& plan, const Listing& files, config::BrokerConfig cfg) {
  held_ = plan.hold;
  for (const auto& file : plan.newly_held) {
    log::error("plugin change refused", {{"file", file}, {"error", held_.at(file).message}});
  }
  refused_ = plan.refused;
  if (!plan.release.empty()) {
    const auto serials = release(plan, files);
    // Unpublish them, then wait until the requests still using them finish, so that the library
    // is closed before a replacement with the same path is opened.
    publish(config_);
    wait_released(serials);
  }
  for (const auto& file : plan.load) {
    load(file, files.at(file), cfg);
  }
  if (plan.changed) {
    publish_config(std::move(cfg));
  }
}

std::vector<uint64_t> Reloader::release(const Plan& plan, const Listing& files) {
  std::vector<uint64_t> serials;
  for (const auto& file : plan.release) {
    const auto it = loaded_.find(file);
    const plugin_host::Plugin& plugin = *it->second.plugin;
    log::info("plugin unloaded", {{"file", file},
                                  {"plugin", plugin.name()},
                                  {"version", plugin.version()},
                                  {"reason", files.count(file) != 0 ? "replaced" : "removed"}});
    serials.push_back(plugin.serial());
    loaded_.erase(it);
  }
  return serials;
}

void Reloader::wait_released(const std::vector<uint64_t>& serials) {
  const auto deadline = std::chrono::steady_clock::now() + kReleaseWait;
  if (!plugin_host::lifetimes().wait_closed(serials, deadline)) {
    log::warn("an unloaded plugin is still in use by a request; a replacement may load later",
              {{"waited_seconds", static_cast<int>(kReleaseWait.count())}});
  }
}

void Reloader::load(const std::string& file, const FileId& id, const config::BrokerConfig& cfg) {
  try {
    auto plugin = plugin_host::load_plugin(file, cfg.plugins, config::plugin_load_options(cfg));
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
    loaded_[file] = Loaded{std::move(plugin), id};
  } catch (const std::exception& e) {
    log::error("plugin refused", {{"file", file}, {"error", e.what()}});
    refused_[file] = Mark{id, e.what()};
  }
}

void Reloader::publish(const config::BrokerConfig& with) {
  registry_ = catalog::Registry::build(loaded_plugins());
  auto catalogs = catalog::Catalogs::build(registry_, with.catalogs, refusals());
  for (const auto& warning : catalogs->warnings()) {
    log::warn("catalog selection", {{"warning", warning}});
  }
  publish_(std::move(catalogs));
}

void Reloader::publish_config(config::BrokerConfig cfg) {
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
      ::inotify_add_watch(inotify_fd_, plugin_dir_.c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
    // Without a watch (inotify limits reached), SIGHUP still rescans.
    log::warn("the plugin directory is not watched: send SIGHUP after changing it",
              {{"plugin_dir", plugin_dir_},
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
    util::MutexLock lock(wake_mutex_);
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
    util::MutexLock lock(wake_mutex_);
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

bool Reloader::read_events() {
  alignas(inotify_event) char buffer[8192];
  bool plugin_file = false;
  ssize_t n = 0;
  while ((n = ::read(inotify_fd_, buffer, sizeof buffer)) > 0) {
    for (char* p = buffer; p < buffer + n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(p);
      if (event->len > 0 && ends_with_so(event->name)) {
        plugin_file = true;
      }
      p += sizeof(inotify_event) + event->len;
    }
  }
  return plugin_file;
}

bool Reloader::take_wakeup(bool& dirty, bool& reread) {
  uint64_t count = 0;
  [[maybe_unused]] const auto n = ::read(stop_fd_, &count, sizeof count);
  util::MutexLock lock(wake_mutex_);
  if (stopping_) {
    return false;
  }
  if (pending_) {
    dirty = true;
    reread = reread || pending_reread_;
    pending_ = false;
    pending_reread_ = false;
  }
  return true;
}

void Reloader::run() {
  bool dirty = false;
  bool reread = false;
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
    if ((fds[0].revents & POLLIN) != 0 && read_events()) {
      dirty = true;
    }
    if ((fds[1].revents & POLLIN) != 0 && !take_wakeup(dirty, reread)) {
      return;
    }
  }
}

}  // namespace osbd::reload

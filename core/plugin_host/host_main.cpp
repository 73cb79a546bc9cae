// osbd-plugin-host: runs one plugin library for osbd, in a process of its own, so that the
// plugin's crash, hang or leak ends this process and not the broker. osbd starts it as
//   osbd-plugin-host --channel-fd 3 /path/to/plugin.so
// and speaks the frames of plugin_host/frame.hpp over fd 3. Not meant to be run by hand.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "log/log.hpp"
#include "plugin_host/frame.hpp"
#include "plugin_host/loader.hpp"
#include "util/elastic_pool.hpp"
#include "util/mutex.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define OSBD_HOST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define OSBD_HOST_SANITIZED 1
#endif
#endif

namespace {

using osbd::plugin_host::Frame;
using osbd::plugin_host::Operation;

// The channel to osbd; frames from several call threads are written one at a time.
class Channel {
 public:
  explicit Channel(int fd) : fd_(fd) {}
  int fd() const noexcept { return fd_; }
  bool send(const nlohmann::json& header, std::string_view document = {}) {
    const std::string frame = osbd::plugin_host::make_frame(header, document);
    osbd::util::MutexLock lock(mu_);
    return osbd::plugin_host::write_frame(fd_, frame);
  }

 private:
  const int fd_;
  osbd::util::Mutex mu_;  // guards writes to fd_
};

Channel* g_channel = nullptr;

void forward_log(osbd::log::Level level, std::string_view message, const nlohmann::json& fields) {
  if (g_channel != nullptr) {
    g_channel->send({{"log", static_cast<int>(level)},
                     {"message", std::string(message)},
                     {"fields", fields.is_object() ? fields : nlohmann::json::object()}});
  }
}

// Calls running on threads of their own, so that the channel keeps being read.
class Calls {
 public:
  void started() OSBD_EXCLUDES(mu_) {
    osbd::util::MutexLock lock(mu_);
    ++running_;
  }
  void finished() OSBD_EXCLUDES(mu_) {
    {
      osbd::util::MutexLock lock(mu_);
      --running_;
    }
    idle_.notify_all();
  }
  // True when no call runs, waiting up to timeout for the last ones.
  bool wait_idle(std::chrono::milliseconds timeout) OSBD_EXCLUDES(mu_) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    osbd::util::UniqueLock lock(mu_);
    while (running_ != 0) {
      if (!lock.wait_until(idle_, until) && running_ != 0) {
        return false;
      }
    }
    return true;
  }

 private:
  osbd::util::Mutex mu_;
  std::condition_variable idle_;
  unsigned running_ OSBD_GUARDED_BY(mu_) = 0;
};

// Address space and open files, from osbd's configuration of this plugin. Sanitizers reserve
// terabytes of address space, so their builds skip the address-space limit.
void apply_limits(const nlohmann::json& limits) {
  const auto memory_mb = limits.value("max_memory_mb", std::uint64_t{0});
  const auto files = limits.value("max_open_files", std::uint64_t{1024});
#ifndef OSBD_HOST_SANITIZED
  if (memory_mb != 0) {
    const rlim_t bytes = static_cast<rlim_t>(memory_mb) << 20;
    const rlimit as{bytes, bytes};
    setrlimit(RLIMIT_AS, &as);
  }
#else
  static_cast<void>(memory_mb);
#endif
  const rlimit nofile{static_cast<rlim_t>(files), static_cast<rlim_t>(files)};
  setrlimit(RLIMIT_NOFILE, &nofile);
}

std::optional<Frame> read_control(Channel& channel) {
  std::string payload;
  if (osbd::plugin_host::read_frame(channel.fd(), payload) != osbd::plugin_host::ReadStatus::ok) {
    return std::nullopt;
  }
  return osbd::plugin_host::parse_frame(payload);
}

// Loads the plugin: hello, configuration, create(). nullptr (after telling osbd why) on failure.
std::shared_ptr<osbd::plugin_host::InProcessBackend> start(Channel& channel,
                                                           const std::string& file,
                                                           std::string& name) {
  try {
    auto opened = osbd::plugin_host::open_library(file);
    const osbd::plugin_host::PluginInfo info = osbd::plugin_host::info_of(*opened.table);
    name = info.name;
    const bool usage = osbd::plugin_host::table_supports(*opened.table, Operation::usage);
    channel.send({{"hello",
                   {{"name", info.name},
                    {"version", info.version},
                    {"vendor", info.vendor},
                    {"abi_major", info.abi_major},
                    {"abi_minor", info.abi_minor},
                    {"usage", usage}}}});
    const auto config = read_control(channel);
    if (!config || !config->header.contains("config")) {
      return nullptr;
    }
    apply_limits(config->header.value("limits", nlohmann::json::object()));
    auto backend =
        osbd::plugin_host::create_backend(std::move(opened), file, config->header["config"]);
    channel.send({{"ready", true}});
    return backend;
  } catch (const std::exception& e) {
    channel.send({{"error", e.what()}});
    return nullptr;
  }
}

void run_call(Channel& channel, Calls& calls,
              std::shared_ptr<osbd::plugin_host::InProcessBackend> backend, const std::string& name,
              std::uint64_t id, Operation op, std::string request) {
  const auto result =
      backend->call_here(op, request, "plugin " + name + " " + osbd::plugin_host::to_string(op));
  channel.send({{"id", id}, {"status", result.status}, {"description", result.description}},
               result.body.dump());
  calls.finished();
}

// Serves calls until osbd closes the channel.
void serve(Channel& channel, Calls& calls, osbd::util::ElasticPool& pool,
           const std::shared_ptr<osbd::plugin_host::InProcessBackend>& backend,
           const std::string& name) {
  osbd::plugin_host::FrameReader reader(channel.fd());
  std::string payload;
  for (;;) {
    if (reader.next(payload) != osbd::plugin_host::ReadStatus::ok) {
      return;
    }
    auto frame = osbd::plugin_host::parse_frame(payload);
    if (!frame) {
      return;  // osbd does not send broken frames: leave
    }
    const auto id = frame->header.value("id", std::uint64_t{0});
    const auto op = osbd::plugin_host::operation_from_string(frame->header.value("op", ""));
    if (!op || !backend->supports(*op)) {
      channel.send({{"id", id},
                    {"status", OSB_STATUS_INTERNAL_ERROR},
                    {"description", "plugin host: unknown operation"}});
      continue;
    }
    calls.started();
    pool.run([&channel, &calls, backend, &name, id, op = *op,
              request = std::move(frame->document)]() mutable {
      run_call(channel, calls, backend, name, id, op, std::move(request));
    });
  }
}

int parse_channel(int argc, char** argv, std::string& file) {
  if (argc != 4 || std::strcmp(argv[1], "--channel-fd") != 0) {
    std::fputs("usage: osbd-plugin-host --channel-fd FD PLUGIN.so (started by osbd)\n", stderr);
    return -1;
  }
  file = argv[3];
  return std::atoi(argv[2]);
}

}  // namespace

int main(int argc, char** argv) {
  std::string file;
  const int fd = parse_channel(argc, argv, file);
  if (fd < 0) {
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  Channel channel(fd);
  g_channel = &channel;
  osbd::log::set_min_level(osbd::log::Level::debug);
  osbd::log::set_forwarder(&forward_log);
  std::string name;
  auto backend = start(channel, file, name);
  if (!backend) {
    return 2;
  }
  Calls calls;
  osbd::util::ElasticPool pool;
  serve(channel, calls, pool, backend, name);
  // osbd closed the channel: give running calls a moment, then release the backend (destroy()
  // only runs once no call is inside the plugin) or leave at once.
  if (calls.wait_idle(std::chrono::milliseconds(500))) {
    backend.reset();
    return 0;
  }
  _exit(0);
}

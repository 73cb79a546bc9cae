#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "plugin_host/backend.hpp"
#include "util/mutex.hpp"

namespace osbd::plugin_host {

/// What a host needs after its hello: the plugin's own configuration and the limits it runs under.
struct HostConfig {
  nlohmann::json plugin_config = nlohmann::json::object();  ///< passed to create()
  PluginSettings settings;                                  ///< limits and deadlines
};

/// A plugin served by an osbd-plugin-host process of its own, over a socket pair. Calls are
/// multiplexed: each carries an id, runs on a thread of its own in the host and answers in any
/// order. A supervisor thread restarts a host that ended (0.5 s doubling to 30 s between
/// attempts while they keep failing), kills one that leaves a call unanswered past its deadline
/// plus kKillGrace, and fails the calls a dead host leaves behind with kStatusCrashed.
class ProcessBackend final : public Backend {
 public:
  /// A host still unanswered this long after a call's deadline is killed.
  static constexpr std::chrono::seconds kKillGrace{5};
  /// A host must say hello, and be ready after its configuration, within this.
  static constexpr std::chrono::seconds kStartTimeout{15};

  /// Decides, from the hello of the plugin in a host, how to run it: nullopt to run it in-process
  /// instead (the host is ended).
  using Configure = std::function<std::optional<HostConfig>(const PluginInfo&)>;

  /// What launch() started.
  struct Launched {
    std::shared_ptr<const ProcessBackend> backend;  ///< nullptr when configure chose in-process
    PluginInfo info;                                ///< from the host's hello
  };

  /// Starts a host for file with executable, reads its hello, asks configure, and sends it the
  /// configuration. Throws PluginLoadError with the host's message when it fails to load or
  /// create the plugin, or does not answer within kStartTimeout.
  static Launched launch(const std::string& executable, const std::string& file,
                         const Configure& configure);

  ~ProcessBackend() override;

  bool supports(Operation op) const noexcept override;
  CallResult call(Operation op, std::string request, Deadline deadline, CallSlot slot,
                  const std::string& what) const override;
  HostStatus status() const override;

 private:
  enum class State { up, backing_off, stopped };
  using Answer = std::shared_ptr<std::promise<CallResult>>;

  ProcessBackend(std::string executable, std::string file, PluginInfo info, HostConfig config,
                 bool usage);

  void adopt(pid_t pid, int fd) OSBD_EXCLUDES(mu_, write_mu_);
  void read_loop(int fd) OSBD_EXCLUDES(mu_);
  void on_frame(const std::string& payload) OSBD_EXCLUDES(mu_);
  void on_result(std::uint64_t id, CallResult result) const OSBD_EXCLUDES(mu_);
  void supervise() OSBD_EXCLUDES(mu_);
  void kill_overdue() OSBD_REQUIRES(mu_);
  void reap() OSBD_EXCLUDES(mu_, write_mu_);
  void fail_pending(const std::string& why) OSBD_REQUIRES(mu_);
  void restart() OSBD_EXCLUDES(mu_);
  void back_off(const std::string& reason) OSBD_REQUIRES(mu_);
  void stop_host() OSBD_EXCLUDES(mu_, write_mu_);
  bool send(const std::string& frame) const OSBD_EXCLUDES(write_mu_);
  CallResult unavailable(const std::string& what) const OSBD_REQUIRES(mu_);

  const std::string executable_;
  const std::string file_;
  const PluginInfo info_;
  const HostConfig config_;
  const bool usage_;

  mutable util::Mutex mu_;
  mutable std::condition_variable changed_;
  State state_ OSBD_GUARDED_BY(mu_) = State::up;
  pid_t pid_ OSBD_GUARDED_BY(mu_) = -1;
  bool exited_ OSBD_GUARDED_BY(mu_) = false;    // the reader saw the channel close
  bool stopping_ OSBD_GUARDED_BY(mu_) = false;  // the backend is being destroyed
  std::string kill_reason_ OSBD_GUARDED_BY(mu_);
  std::uint64_t restarts_ OSBD_GUARDED_BY(mu_) = 0;
  unsigned failures_ OSBD_GUARDED_BY(mu_) = 0;  // consecutive hosts that ended early
  std::string last_exit_ OSBD_GUARDED_BY(mu_);
  Deadline up_since_ OSBD_GUARDED_BY(mu_);
  Deadline retry_at_ OSBD_GUARDED_BY(mu_);
  mutable std::uint64_t next_id_ OSBD_GUARDED_BY(mu_) = 0;
  mutable std::map<std::uint64_t, Answer> pending_ OSBD_GUARDED_BY(mu_);
  mutable std::map<std::uint64_t, Deadline> overdue_ OSBD_GUARDED_BY(mu_);

  mutable util::Mutex write_mu_;  // serializes frames to the host
  int fd_ OSBD_GUARDED_BY(write_mu_) = -1;

  std::thread reader_;      // one per host; joined by reap()
  std::thread supervisor_;  // for the backend's lifetime
};

}  // namespace osbd::plugin_host

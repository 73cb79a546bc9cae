#include "plugin_host/process.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "log/log.hpp"
#include "plugin_host/frame.hpp"
#include "plugin_host/loader.hpp"
#include "plugin_host/spawn.hpp"
#include "util/json_parse.hpp"

namespace osbd::plugin_host {
namespace {

using Clock = std::chrono::steady_clock;

// A host that lived this long before it ended starts again after the shortest back-off.
constexpr std::chrono::seconds kStableUptime{10};
constexpr std::chrono::milliseconds kFirstBackoff{500};
constexpr std::chrono::seconds kMaxBackoff{30};

std::chrono::milliseconds backoff(unsigned failures) {
  auto delay = kFirstBackoff;
  for (unsigned i = 1; i < failures && delay < kMaxBackoff; ++i) {
    delay *= 2;
  }
  return std::min<std::chrono::milliseconds>(delay, kMaxBackoff);
}

// Waits up to timeout for pid to end; its wait status, or nullopt if it still runs.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      return r == pid ? std::optional<int>(status) : std::optional<int>(0);
    }
    if (Clock::now() >= until) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Ends pid (SIGKILL after grace) and returns how it ended.
std::string end_process(pid_t pid, std::chrono::milliseconds grace) {
  auto status = wait_exit(pid, grace);
  if (!status) {
    kill(pid, SIGKILL);
    status = wait_exit(pid, std::chrono::seconds(5));
  }
  return status ? describe_exit(*status) : "did not end after SIGKILL";
}

log::Level level_of(const nlohmann::json& level) {
  const int l = level.is_number_integer() ? level.get<int>() : 1;
  return l <= 0   ? log::Level::debug
         : l == 1 ? log::Level::info
         : l == 2 ? log::Level::warn
                  : log::Level::error;
}

// A log line the host sent for its plugin, with its fields; "plugin" is always osbd's word.
void forward_log(const std::string& plugin, const nlohmann::json& header) {
  const auto message = header.find("message");
  if (message == header.end() || !message->is_string()) {
    return;
  }
  nlohmann::json fields = header.contains("fields") && header.at("fields").is_object()
                              ? header.at("fields")
                              : nlohmann::json::object();
  fields["plugin"] = plugin;
  log::write(level_of(header.at("log")), message->get<std::string>(), fields);
}

// The next frame from a starting host that is not a log line, within until.
// Log lines before it are the plugin's: logged as plugin's (or the file's, before the hello).
Frame read_start_frame(int fd, const std::string& file, Clock::time_point until,
                       const std::string& plugin = {}) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    std::string payload;
    if (left.count() <= 0 || !wait_readable(fd, static_cast<int>(left.count()))) {
      throw PluginLoadError(file + ": the plugin host did not answer within " +
                            std::to_string(ProcessBackend::kStartTimeout.count()) + " s");
    }
    if (read_frame(fd, payload) != ReadStatus::ok) {
      throw PluginLoadError(file + ": the plugin host ended during start-up");
    }
    auto frame = parse_frame(payload);
    if (!frame) {
      throw PluginLoadError(file + ": the plugin host sent an invalid frame during start-up");
    }
    if (frame->header.contains("error") && frame->header["error"].is_string()) {
      throw PluginLoadError(frame->header["error"].get<std::string>());
    }
    if (!frame->header.contains("log")) {
      return std::move(*frame);
    }
    forward_log(plugin.empty() ? file : plugin, frame->header);
  }
}

struct Hello {
  PluginInfo info;
  bool usage = false;
};

Hello read_hello(int fd, const std::string& file, Clock::time_point until) {
  const Frame frame = read_start_frame(fd, file, until);
  const auto hello = frame.header.find("hello");
  if (hello == frame.header.end() || !hello->is_object() || !(*hello)["name"].is_string()) {
    throw PluginLoadError(file + ": the plugin host sent no hello");
  }
  Hello out;
  out.info.name = hello->value("name", "");
  out.info.version = hello->value("version", "");
  out.info.vendor = hello->value("vendor", "");
  out.info.abi_major = hello->value("abi_major", 0u);
  out.info.abi_minor = hello->value("abi_minor", 0u);
  out.usage = hello->value("usage", false);
  return out;
}

void send_config(int fd, const std::string& file, const std::string& name, const HostConfig& config,
                 Clock::time_point until) {
  const nlohmann::json header = {{"config", config.plugin_config},
                                 {"limits",
                                  {{"max_memory_mb", config.settings.max_memory_mb},
                                   {"max_open_files", config.settings.max_open_files}}}};
  if (!write_frame(fd, make_frame(header))) {
    throw PluginLoadError(file + ": the plugin host ended during start-up");
  }
  const Frame ready = read_start_frame(fd, file, until, name);
  if (!ready.header.value("ready", false)) {
    throw PluginLoadError(file + ": the plugin host did not say it was ready");
  }
}

// A started host, ended (and its channel closed) unless released.
struct HostGuard {
  SpawnedHost host;
  ~HostGuard() {
    if (host.pid > 0) {
      close(host.fd);
      end_process(host.pid, std::chrono::milliseconds(0));
    }
  }
  SpawnedHost release() { return std::exchange(host, SpawnedHost{}); }
};

// The call id and result a result frame carries; nullopt when it is not a valid one.
std::optional<std::pair<std::uint64_t, CallResult>> result_of(const Frame& frame) {
  const auto& header = frame.header;
  if (!header.contains("id") || !header["id"].is_number_unsigned() || !header.contains("status") ||
      !header["status"].is_number_integer()) {
    return std::nullopt;
  }
  CallResult result;
  result.status = header["status"].get<osb_status>();
  if (header.contains("description") && header["description"].is_string()) {
    result.description = header["description"].get<std::string>();
  }
  if (!frame.document.empty()) {
    auto body = util::parse_json(frame.document);
    if (!body || !body->is_object()) {
      return std::nullopt;
    }
    result.body = std::move(*body);
  }
  return std::make_pair(header["id"].get<std::uint64_t>(), std::move(result));
}

CallResult crashed(const std::string& what, const std::string& why) {
  CallResult out;
  out.status = kStatusCrashed;
  out.description =
      what + ": the plugin's host process " + why + " during the call; the request can be retried";
  return out;
}

}  // namespace

ProcessBackend::Launched ProcessBackend::launch(const std::string& executable,
                                                const std::string& file,
                                                const Configure& configure) {
  if (executable.empty()) {
    throw PluginLoadError(file +
                          ": no osbd-plugin-host next to osbd (needed for isolation: "
                          "process; reinstall osbd or set isolation: in-process)");
  }
  HostGuard guard{spawn_host(executable, file)};
  const auto until = Clock::now() + kStartTimeout;
  Hello hello = read_hello(guard.host.fd, file, until);
  std::optional<HostConfig> config = configure(hello.info);
  if (!config) {
    return Launched{nullptr, std::move(hello.info)};
  }
  send_config(guard.host.fd, file, hello.info.name, *config, until);
  const SpawnedHost host = guard.release();
  std::shared_ptr<ProcessBackend> backend(
      new ProcessBackend(executable, file, hello.info, std::move(*config), hello.usage));
  backend->adopt(host.pid, host.fd);
  backend->supervisor_ = std::thread([raw = backend.get()] { raw->supervise(); });
  return Launched{std::move(backend), std::move(hello.info)};
}

ProcessBackend::ProcessBackend(std::string executable, std::string file, PluginInfo info,
                               HostConfig config, bool usage)
    : executable_(std::move(executable)),
      file_(std::move(file)),
      info_(std::move(info)),
      config_(std::move(config)),
      usage_(usage) {}

ProcessBackend::~ProcessBackend() {
  {
    util::MutexLock lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (supervisor_.joinable()) {
    supervisor_.join();
  }
  stop_host();
}

bool ProcessBackend::supports(Operation op) const noexcept {
  return op != Operation::usage || usage_;
}

void ProcessBackend::adopt(pid_t pid, int fd) {
  {
    util::MutexLock lock(write_mu_);
    fd_ = fd;
  }
  {
    util::MutexLock lock(mu_);
    pid_ = pid;
    state_ = State::up;
    exited_ = false;
    kill_reason_.clear();
    up_since_ = Clock::now();
  }
  reader_ = std::thread([this, fd] { read_loop(fd); });
}

void ProcessBackend::read_loop(int fd) {
  FrameReader reader(fd);
  std::string payload;
  while (reader.next(payload) == ReadStatus::ok) {
    on_frame(payload);
  }
  {
    util::MutexLock lock(mu_);
    exited_ = true;
  }
  changed_.notify_all();
}

void ProcessBackend::on_frame(const std::string& payload) {
  auto frame = parse_frame(payload);
  if (frame && frame->header.contains("log")) {
    return forward_log(info_.name, frame->header);
  }
  auto result = frame ? result_of(*frame) : std::nullopt;
  if (!result) {
    util::MutexLock lock(mu_);
    if (kill_reason_.empty() && pid_ > 0) {
      kill_reason_ = "sent an invalid frame";
      kill(pid_, SIGKILL);
    }
    return;
  }
  on_result(result->first, std::move(result->second));
}

void ProcessBackend::on_result(std::uint64_t id, CallResult result) const {
  Answer answer;
  {
    util::MutexLock lock(mu_);
    overdue_.erase(id);
    const auto it = pending_.find(id);
    if (it == pending_.end()) {
      return;  // answered too late: the client already has its 504
    }
    answer = std::move(it->second);
    pending_.erase(it);
  }
  answer->set_value(std::move(result));
}

bool ProcessBackend::send(const std::string& frame) const {
  util::MutexLock lock(write_mu_);
  return fd_ >= 0 && write_frame(fd_, frame);
}

CallResult ProcessBackend::unavailable(const std::string& what) const {
  CallResult out;
  out.status = kStatusUnavailable;
  const auto left = std::chrono::ceil<std::chrono::seconds>(retry_at_ - Clock::now());
  out.retry_after_seconds = static_cast<unsigned>(std::max<long>(1, left.count()));
  out.description =
      what + ": the plugin's host process is restarting (last " + last_exit_ + "); retry later";
  return out;
}

CallResult ProcessBackend::call(Operation op, std::string request, Deadline deadline, CallSlot slot,
                                const std::string& what) const {
  const auto started = Clock::now();
  std::uint64_t id = 0;
  std::future<CallResult> answer;
  {
    util::MutexLock lock(mu_);
    if (state_ != State::up || exited_) {
      return unavailable(what);
    }
    id = ++next_id_;
    auto promise = std::make_shared<std::promise<CallResult>>();
    answer = promise->get_future();
    pending_.emplace(id, std::move(promise));
  }
  const nlohmann::json header = {{"id", id}, {"op", to_string(op)}};
  if (!send(make_frame(header, request))) {
    util::MutexLock lock(mu_);
    pending_.erase(id);
    return crashed(what, "closed its channel");
  }
  if (answer.wait_until(deadline) == std::future_status::ready) {
    return answer.get();
  }
  util::MutexLock lock(mu_);
  if (pending_.erase(id) == 0) {
    return answer.get();  // answered (or failed by a crash) just now
  }
  overdue_.emplace(id, deadline + kKillGrace);
  static_cast<void>(slot);
  return timed_out(what, started, deadline);
}

HostStatus ProcessBackend::status() const {
  util::MutexLock lock(mu_);
  HostStatus s;
  if (state_ == State::up && !exited_) {
    s.pid = pid_;
  }
  s.state = state_ == State::up ? "up" : state_ == State::backing_off ? "backing off" : "stopped";
  s.restarts = restarts_;
  s.last_exit = last_exit_;
  if (state_ == State::backing_off) {
    s.retry_after_seconds = unavailable("").retry_after_seconds;
  }
  return s;
}

void ProcessBackend::supervise() {
  util::UniqueLock lock(mu_);
  while (!stopping_) {
    lock.wait_for(changed_, std::chrono::milliseconds(100));
    if (stopping_) {
      break;
    }
    kill_overdue();
    if (exited_ && state_ == State::up) {
      lock.unlock();
      reap();
      lock.lock();
    } else if (state_ == State::backing_off && Clock::now() >= retry_at_) {
      lock.unlock();
      restart();
      lock.lock();
    }
  }
}

void ProcessBackend::kill_overdue() {
  const auto now = Clock::now();
  const bool overdue = std::any_of(overdue_.begin(), overdue_.end(),
                                   [now](const auto& entry) { return entry.second <= now; });
  if (!overdue || !kill_reason_.empty() || exited_ || pid_ <= 0) {
    return;
  }
  kill_reason_ =
      "left a call unanswered " + std::to_string(kKillGrace.count()) + " s past its deadline";
  log::warn("plugin host killed",
            {{"plugin", info_.name}, {"pid", pid_}, {"reason", kill_reason_}});
  kill(pid_, SIGKILL);
}

void ProcessBackend::reap() {
  if (reader_.joinable()) {
    reader_.join();
  }
  pid_t pid = -1;
  {
    util::MutexLock lock(write_mu_);
    close(fd_);
    fd_ = -1;
  }
  {
    util::MutexLock lock(mu_);
    pid = pid_;
  }
  const std::string how = end_process(pid, std::chrono::seconds(2));
  util::MutexLock lock(mu_);
  const bool stable = Clock::now() - up_since_ >= kStableUptime;
  failures_ = stable ? 1 : failures_ + 1;
  back_off(kill_reason_.empty() ? how : how + " after it " + kill_reason_);
  fail_pending("ended (" + last_exit_ + ")");
  log::error("plugin host ended", {{"plugin", info_.name},
                                   {"pid", pid},
                                   {"reason", last_exit_},
                                   {"restart_in_ms", backoff(failures_).count()}});
}

void ProcessBackend::back_off(const std::string& reason) {
  state_ = State::backing_off;
  last_exit_ = reason;
  retry_at_ = Clock::now() + backoff(failures_);
  overdue_.clear();
}

void ProcessBackend::fail_pending(const std::string& why) {
  for (auto& [id, answer] : pending_) {
    answer->set_value(crashed("plugin " + info_.name, why));
  }
  pending_.clear();
}

void ProcessBackend::restart() {
  {
    util::MutexLock lock(mu_);
    ++restarts_;
  }
  try {
    HostGuard guard{spawn_host(executable_, file_)};
    const auto until = Clock::now() + kStartTimeout;
    const Hello hello = read_hello(guard.host.fd, file_, until);
    if (hello.info.name != info_.name) {
      throw PluginLoadError(file_ + " now holds plugin " + hello.info.name);
    }
    send_config(guard.host.fd, file_, info_.name, config_, until);
    const SpawnedHost host = guard.release();
    adopt(host.pid, host.fd);
    log::info("plugin host started", {{"plugin", info_.name}, {"pid", host.pid}});
  } catch (const std::exception& e) {
    util::MutexLock lock(mu_);
    ++failures_;
    back_off(std::string("start failed: ") + e.what());
    log::error("plugin host did not start", {{"plugin", info_.name},
                                             {"reason", last_exit_},
                                             {"restart_in_ms", backoff(failures_).count()}});
  }
}

void ProcessBackend::stop_host() {
  pid_t pid = -1;
  {
    util::MutexLock lock(mu_);
    pid = state_ == State::up ? pid_ : -1;
    state_ = State::stopped;
  }
  {
    // The host sees its channel end, lets its calls finish briefly and exits.
    util::MutexLock lock(write_mu_);
    if (fd_ >= 0) {
      shutdown(fd_, SHUT_WR);
    }
  }
  if (pid > 0) {
    end_process(pid, std::chrono::seconds(2));
  }
  if (reader_.joinable()) {
    reader_.join();
  }
  {
    util::MutexLock lock(write_mu_);
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  util::MutexLock lock(mu_);
  fail_pending("was stopped");
}

}  // namespace osbd::plugin_host

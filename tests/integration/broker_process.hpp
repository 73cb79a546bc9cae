#pragma once

// Runs the real osbd binary for integration tests: writes a config, starts the process on a
// kernel-chosen port, finds the port in its log, and stops it with any signal.

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace osbd::test {

/// A temporary directory removed at destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/osbd-it-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The directory.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Reads a whole file ("" if missing).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Options of one broker process.
struct BrokerSetup {
  std::string plugin_dir = OSBD_PLUGIN_DIR;  ///< plugins to load
  std::string extra_yaml;                    ///< appended to the generated config
  std::string plugins_yaml = "plugins:\n  org.osbd.example:\n    async_seconds: 1\n";
  std::size_t max_body_bytes = 65536;  ///< limits.max_body_bytes
  std::string limits_yaml;             ///< more keys of limits:, each "  key: value\n"
};

/// One osbd process with its own data dir, config and log file.
class BrokerProcess {
 public:
  static constexpr const char* kUser = "platform";
  static constexpr const char* kPassword = "s3cret-platform-password";

  explicit BrokerProcess(BrokerSetup setup = {}) : setup_(std::move(setup)) {
    config_path_ = dir_.path() + "/osbd.yaml";
    std::ofstream(config_path_) << "listen: 127.0.0.1:0\n"
                                << "data_dir: " << data_dir() << "\n"
                                << "plugin_dir: " << setup_.plugin_dir << "\n"
                                << "log_level: debug\n"
                                << "auth:\n  username: " << kUser << "\n  password: " << kPassword
                                << "\n"
                                << "limits:\n  max_body_bytes: " << setup_.max_body_bytes << "\n"
                                << "  poll_interval_ms: 200\n"
                                << setup_.limits_yaml << setup_.plugins_yaml << setup_.extra_yaml;
  }
  ~BrokerProcess() { kill_now(); }

  /// Where the state store lives (kept across restarts of this object).
  std::string data_dir() const { return dir_.path() + "/data"; }
  /// The generated config file.
  const std::string& config_path() const { return config_path_; }
  /// Everything the process wrote to stderr so far, across restarts.
  std::string log() const { return read_file(log_path()); }
  /// The port of the running process.
  unsigned short port() const { return port_; }
  /// Process id while running.
  pid_t pid() const { return pid_; }

  /// Starts osbd and waits until it listens; throws with the log if it does not.
  void start(const std::vector<std::string>& extra_args = {}) {
    const auto offset = log().size();
    pid_ = spawn(extra_args);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string text = log().substr(std::min(offset, log().size()));
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.is_object() && j.value("msg", "") == "listening") {
          port_ = j.at("port").get<unsigned short>();
          return;
        }
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("osbd exited during start-up:\n" + text);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("osbd did not start listening:\n" + log());
  }

  /// Runs osbd to completion with the given arguments (config added); returns the exit code
  /// and fills output with stdout+stderr.
  int run_once(const std::vector<std::string>& args, std::string& output) {
    const std::string out_path = dir_.path() + "/run-once.out";
    const pid_t pid = fork();
    if (pid == 0) {
      freopen(out_path.c_str(), "w", stdout);
      dup2(fileno(stdout), STDERR_FILENO);
      std::vector<std::string> all{OSBD_BINARY};
      all.insert(all.end(), args.begin(), args.end());
      exec(all);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    output = read_file(out_path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  /// Sends a signal and waits for the exit; returns the exit code (128+signal if killed).
  int stop(int signo) {
    if (pid_ <= 0) {
      return -1;
    }
    ::kill(pid_, signo);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  /// kill -9, as a crash would.
  void kill_now() {
    if (pid_ > 0) {
      stop(SIGKILL);
    }
  }

 private:
  std::string log_path() const { return dir_.path() + "/osbd.log"; }

  [[noreturn]] static void exec(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }

  pid_t spawn(const std::vector<std::string>& extra_args) {
    const pid_t pid = fork();
    if (pid == 0) {
      freopen(log_path().c_str(), "a", stderr);
      freopen("/dev/null", "w", stdout);
      std::vector<std::string> args{OSBD_BINARY, "--config", config_path_};
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      exec(args);
    }
    return pid;
  }

  BrokerSetup setup_;
  TempDir dir_;
  std::string config_path_;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

}  // namespace osbd::test

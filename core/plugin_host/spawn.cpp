#include "plugin_host/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

namespace osbd::plugin_host {
namespace {

// The descriptor the host finds its channel on.
constexpr int kChannelFd = 3;

// What a host's environment may hold of osbd's: locale, time zone and the sanitizers' settings
// of test builds. Nothing else (credentials, tokens) crosses.
std::vector<std::string> host_environment() {
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  for (const char* name :
       {"LANG", "LC_ALL", "TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name)) {
      env.push_back(std::string(name) + "=" + value);
    }
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// In the child between fork() and exec(): async-signal-safe calls only.
[[noreturn]] void exec_child(int channel, const char* executable, char* const* argv,
                             char* const* envp) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  setpgid(0, 0);
  if (channel == kChannelFd) {
    fcntl(kChannelFd, F_SETFD, 0);
  } else if (dup2(channel, kChannelFd) != kChannelFd) {
    _exit(126);
  }
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2(null, 0) != 0 || dup2(null, 1) != 1) {
    _exit(126);
  }
  // Every other descriptor osbd has open (listeners, the state store, other hosts' channels).
  if (close_range(kChannelFd + 1, ~0U, 0) != 0) {
    for (int fd = kChannelFd + 1; fd < 65536; ++fd) {
      close(fd);
    }
  }
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  execve(executable, argv, envp);
  _exit(127);
}

}  // namespace

SpawnedHost spawn_host(const std::string& executable, const std::string& plugin_file) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    throw std::system_error(errno, std::generic_category(), "socketpair");
  }
  std::vector<std::string> args = {executable, "--channel-fd", std::to_string(kChannelFd),
                                   std::filesystem::absolute(plugin_file).string()};
  std::vector<std::string> env = host_environment();
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(env);
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    close(fds[0]);
    close(fds[1]);
    throw std::system_error(e, std::generic_category(), "fork");
  }
  if (pid == 0) {
    exec_child(fds[1], argv[0], argv.data(), envp.data());
  }
  close(fds[1]);
  return SpawnedHost{pid, fds[0]};
}

std::string describe_exit(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    const char* abbrev = sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) +
           (abbrev != nullptr ? " (SIG" + std::string(abbrev) + ")" : std::string());
  }
  return "ended (wait status " + std::to_string(wait_status) + ")";
}

std::string find_host_executable() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return {};
  }
  const auto dir = self.parent_path();
  for (const auto& candidate :
       {dir / "osbd-plugin-host", dir.parent_path() / "libexec" / "osbd" / "osbd-plugin-host"}) {
    if (std::filesystem::is_regular_file(candidate, ec)) {
      return candidate.string();
    }
  }
  return {};
}

}  // namespace osbd::plugin_host

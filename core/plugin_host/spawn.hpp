#pragma once

#include <sys/types.h>

#include <string>

namespace osbd::plugin_host {

/// A started osbd-plugin-host: its process and osbd's end of its channel.
struct SpawnedHost {
  pid_t pid = -1;  ///< the host process
  int fd = -1;     ///< osbd's end of the socket pair (close-on-exec)
};

/// Starts executable for plugin_file with least privilege: its end of a socket pair as fd 3 and
/// no other descriptor but stdin and stdout on /dev/null and stderr shared with osbd (so a
/// crash's last words reach osbd's log stream); a scrubbed environment; PR_SET_NO_NEW_PRIVS; no
/// core dumps; a process group of its own, so that a terminal's signals reach osbd only. Throws
/// std::system_error when the process cannot be created.
SpawnedHost spawn_host(const std::string& executable, const std::string& plugin_file);

/// How a process ended, from a waitpid() status: "exit status 1", "killed by signal 11 (SIGSEGV)".
std::string describe_exit(int wait_status);

/// The osbd-plugin-host next to the running executable (the build's bin/, or an installed
/// libexec/osbd/ beside bin/); "" when there is none.
std::string find_host_executable();

}  // namespace osbd::plugin_host

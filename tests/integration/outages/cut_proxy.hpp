#pragma once

// A TCP proxy between a plugin and its HTTP server (one request per connection, as the object
// storage plugin sends them) that can hold one request until the test has stopped the server:
// the request is then forwarded if the server accepts connections, else its connection closes,
// as it would had the server died while answering.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace osbd_outage_test {

class CutProxy {
 public:
  /// Listens on a kernel-chosen port of 127.0.0.1 and forwards to 127.0.0.1:upstream_port.
  explicit CutProxy(unsigned short upstream_port) : upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof address;
    if (listener_ < 0 || ::bind(listener_, as_sockaddr(address), sizeof address) != 0 ||
        ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, as_sockaddr(address), &length) != 0) {
      throw std::runtime_error("the proxy cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~CutProxy() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    acceptor_.join();
    for (std::thread& connection : connections_) {
      connection.join();
    }
    ::close(listener_);
  }
  CutProxy(const CutProxy&) = delete;
  CutProxy& operator=(const CutProxy&) = delete;

  /// The port the proxy listens on.
  unsigned short port() const { return port_; }

  /// Holds the next request whose request line starts with start (e.g. "PUT /bucket").
  void hold(const std::string& start) {
    std::lock_guard lock(mutex_);
    armed_ = start;
    held_ = false;
    released_ = false;
  }
  /// Whether a request was held within timeout.
  bool wait_held(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return held_; });
  }
  /// Lets the held request go on (to the server, if it accepts connections).
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    changed_.notify_all();
  }

 private:
  static sockaddr_in loopback(unsigned short port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
  }
  static sockaddr* as_sockaddr(sockaddr_in& address) {
    return reinterpret_cast<sockaddr*>(&address);
  }
  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }
  /// Waits up to 100 ms for fd to be readable.
  static bool readable(int fd) {
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, 100) > 0;
  }

  void accept_loop() {
    while (!stopping()) {
      if (!readable(listener_)) {
        continue;
      }
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client >= 0) {
        connections_.emplace_back([this, client] {
          serve(client);
          ::close(client);
        });
      }
    }
  }

  /// Reads until the request line is complete; what was read.
  std::string request_head(int client) {
    std::string head;
    char buffer[4096];
    while (head.find("\r\n") == std::string::npos && !stopping()) {
      if (!readable(client)) {
        continue;
      }
      const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n <= 0) {
        break;
      }
      head.append(buffer, static_cast<std::size_t>(n));
    }
    return head;
  }

  /// Holds the connection when its request line starts with what is armed.
  void maybe_hold(const std::string& head) {
    std::unique_lock lock(mutex_);
    if (armed_.empty() || head.rfind(armed_, 0) != 0) {
      return;
    }
    armed_.clear();
    held_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return released_ || stopping_; });
  }

  void serve(int client) {
    const std::string head = request_head(client);
    maybe_hold(head);
    const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address = loopback(upstream_port_);
    if (upstream >= 0 && ::connect(upstream, as_sockaddr(address), sizeof address) == 0 &&
        ::send(upstream, head.data(), head.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(head.size())) {
      relay(client, upstream);
    }
    if (upstream >= 0) {
      ::close(upstream);
    }
  }

  /// Copies bytes both ways until one side closes.
  void relay(int client, int upstream) {
    char buffer[16384];
    while (!stopping()) {
      pollfd entries[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
      if (::poll(entries, 2, 100) <= 0) {
        continue;
      }
      for (int i = 0; i < 2; ++i) {
        if ((entries[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
          continue;
        }
        const ssize_t n = ::recv(entries[i].fd, buffer, sizeof buffer, 0);
        const int to = i == 0 ? upstream : client;
        if (n <= 0 || ::send(to, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) {
          return;
        }
      }
    }
  }

  unsigned short upstream_port_;
  unsigned short port_ = 0;
  int listener_ = -1;
  std::thread acceptor_;
  std::vector<std::thread> connections_;  ///< touched by the acceptor thread only until joined
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string armed_;
  bool held_ = false;
  bool released_ = false;
  bool stopping_ = false;
};

}  // namespace osbd_outage_test

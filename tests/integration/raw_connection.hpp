#pragma once

// A plain TCP connection for tests that send what an HTTP client library would not: malformed
// request lines, headers without their body, bytes that are not UTF-8.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace osbd::test {

/// One TCP connection to 127.0.0.1:port, closed at destruction.
class RawConnection {
 public:
  explicit RawConnection(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close();
      throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    }
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  /// Sends all of bytes; false when the peer closed.
  bool send(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  /// Reads until the peer closes, until what was read contains until (when given), or until
  /// timeout passes; returns what was read.
  std::string receive(std::chrono::milliseconds timeout, const std::string& until = "") {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (until.empty() || out.find(until) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        break;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        break;
      }
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  /// True when the peer closed the connection within timeout (reading and dropping data).
  bool closed_by_peer(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        char buf[4096];
        if (::recv(fd_, buf, sizeof buf, 0) <= 0) {
          return true;
        }
      }
    }
    return false;
  }

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

/// The status code of the first response in text ("HTTP/1.1 400 ..."), 0 when there is none.
inline unsigned status_of(const std::string& text) {
  if (text.rfind("HTTP/1.", 0) != 0 || text.size() < 12) {
    return 0;
  }
  return static_cast<unsigned>(std::stoul(text.substr(9, 3)));
}

/// The body of the first response in text (after the blank line).
inline std::string body_of(const std::string& text) {
  const auto end = text.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : text.substr(end + 4);
}

}  // namespace osbd::test

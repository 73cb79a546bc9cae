#include "plugin_host/frame.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "util/json_parse.hpp"

namespace osbd::plugin_host {
namespace {

bool send_all(int fd, const char* data, std::size_t size) noexcept {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Reads exactly size bytes; closed when the peer closed before the first byte.
ReadStatus read_all(int fd, char* data, std::size_t size) noexcept {
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, data + got, size - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n == 0) {
      return got == 0 ? ReadStatus::closed : ReadStatus::error;
    }
    if (n < 0) {
      return ReadStatus::error;
    }
    got += static_cast<std::size_t>(n);
  }
  return ReadStatus::ok;
}

// The length a frame's 4-byte big-endian header announces.
std::size_t frame_length(const unsigned char* header) noexcept {
  return (std::size_t{header[0]} << 24) | (std::size_t{header[1]} << 16) |
         (std::size_t{header[2]} << 8) | std::size_t{header[3]};
}

}  // namespace

bool write_frame(int fd, std::string_view payload) noexcept {
  if (payload.size() > kMaxFrameBytes) {
    return false;
  }
  const auto n = static_cast<std::uint32_t>(payload.size());
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  return send_all(fd, header, sizeof header) && send_all(fd, payload.data(), payload.size());
}

ReadStatus read_frame(int fd, std::string& out) {
  unsigned char header[4];
  const ReadStatus status = read_all(fd, reinterpret_cast<char*>(header), sizeof header);
  if (status != ReadStatus::ok) {
    return status;
  }
  const std::size_t n = frame_length(header);
  if (n > kMaxFrameBytes) {
    return ReadStatus::error;
  }
  out.resize(n);
  return n == 0 || read_all(fd, out.data(), n) == ReadStatus::ok ? ReadStatus::ok
                                                                 : ReadStatus::error;
}

bool FrameReader::take(std::string& out, bool& too_large) {
  const std::size_t available = buffer_.size() - start_;
  if (available < 4) {
    return false;
  }
  const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data() + start_);
  const std::size_t n = frame_length(h);
  too_large = n > kMaxFrameBytes;
  if (too_large || available < 4 + n) {
    return false;
  }
  out.assign(buffer_, start_ + 4, n);
  start_ += 4 + n;
  return true;
}

ReadStatus FrameReader::next(std::string& out) {
  constexpr std::size_t kChunk = 64 * 1024;
  for (;;) {
    bool too_large = false;
    if (take(out, too_large)) {
      return ReadStatus::ok;
    }
    if (too_large) {
      return ReadStatus::error;
    }
    buffer_.erase(0, start_);  // keep only the unread bytes
    start_ = 0;
    const std::size_t had = buffer_.size();
    buffer_.resize(had + kChunk);
    ssize_t n = -1;
    do {
      n = ::read(fd_, buffer_.data() + had, kChunk);
    } while (n < 0 && errno == EINTR);
    buffer_.resize(had + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n == 0) {
      return had == 0 ? ReadStatus::closed : ReadStatus::error;
    }
    if (n < 0) {
      return ReadStatus::error;
    }
  }
}

bool wait_readable(int fd, int timeout_ms) noexcept {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    const int n = ::poll(&p, 1, timeout_ms);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n > 0;
  }
}

std::optional<Frame> parse_frame(const std::string& payload) {
  const auto newline = payload.find('\n');
  auto header = util::parse_json(payload.substr(0, newline));
  if (!header || !header->is_object()) {
    return std::nullopt;
  }
  Frame frame{std::move(*header), {}};
  if (newline != std::string::npos) {
    frame.document = payload.substr(newline + 1);
  }
  return frame;
}

std::string make_frame(const nlohmann::json& header, std::string_view document) {
  std::string out = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!document.empty()) {
    out += '\n';
    out.append(document);
  }
  return out;
}

}  // namespace osbd::plugin_host

#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

// The channel between osbd and an osbd-plugin-host: frames of a 4-byte big-endian length and
// that many bytes. A frame is a JSON header, optionally followed by '\n' and a JSON document (a
// call's request, a result's body), so that documents cross without being parsed twice.
//
//   host → osbd  {"hello":{"name","version","vendor","abi_major","abi_minor","usage"}}
//   osbd → host  {"config":{...},"limits":{"max_memory_mb","max_open_files"}}
//   host → osbd  {"ready":true} | {"error":"..."}
//   osbd → host  {"id":N,"op":"provision"}\n<request>
//   host → osbd  {"id":N,"status":S,"description":"..."}\n<body>
//   host → osbd  {"log":LEVEL,"message":"..."}

namespace osbd::plugin_host {

/// Frames larger than this are refused (the peer is broken or hostile).
inline constexpr std::size_t kMaxFrameBytes = std::size_t{64} << 20;

/// Writes one frame; false when the peer is gone. Never raises SIGPIPE. Not thread-safe: callers
/// serialize writes to one fd.
bool write_frame(int fd, std::string_view payload) noexcept;

/// What read_frame() found.
enum class ReadStatus { ok, closed, error };

/// Reads one frame into out. closed: the peer closed the channel between frames.
ReadStatus read_frame(int fd, std::string& out);

/// Reads frames from fd through a buffer: one read() brings in every frame that has arrived, so
/// a busy channel costs one system call per batch rather than two per frame. Reads past the frame
/// it returns, so a channel is read either through one FrameReader or with read_frame() alone.
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd) {}
  /// The next frame into out; closed when the peer closed the channel between frames.
  ReadStatus next(std::string& out);

 private:
  // A whole frame at the front of the buffer, moved into out; false when none is there yet.
  bool take(std::string& out, bool& too_large);

  int fd_;
  std::string buffer_;
  std::size_t start_ = 0;  // where the unread bytes of buffer_ begin
};

/// Waits up to timeout_ms for fd to be readable; false on timeout or error.
bool wait_readable(int fd, int timeout_ms) noexcept;

/// A frame split into its header (a JSON object) and the document after it ("" if none).
struct Frame {
  nlohmann::json header;  ///< always an object
  std::string document;   ///< the text after the first '\n'
};

/// Parses a frame; nullopt when its header is not a JSON object.
std::optional<Frame> parse_frame(const std::string& payload);

/// header's text, then '\n' and document when document is not empty.
std::string make_frame(const nlohmann::json& header, std::string_view document = {});

}  // namespace osbd::plugin_host

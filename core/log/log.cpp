#include "log/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "util/mutex.hpp"

namespace osbd::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::info)};
util::Mutex g_write_mutex;  // one line at a time on stderr
std::atomic<Forwarder> g_forwarder{nullptr};

const char* level_name(Level level) noexcept {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

std::string now_rfc3339() {
  const auto now = std::chrono::system_clock::now();
  return rfc3339_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
}

}  // namespace

std::string rfc3339_ms(int64_t unix_ms) {
  const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

void set_min_level(Level level) noexcept {
  g_min_level.store(static_cast<int>(level));
}

bool enabled(Level level) noexcept {
  return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void set_forwarder(Forwarder forwarder) noexcept {
  g_forwarder.store(forwarder);
}

void write(Level level, std::string_view message, const nlohmann::json& fields) {
  if (!enabled(level)) {
    return;
  }
  if (const Forwarder forward = g_forwarder.load()) {
    return forward(level, message, fields);
  }
  nlohmann::ordered_json line;
  line["time"] = now_rfc3339();
  line["level"] = level_name(level);
  line["msg"] = std::string(message);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      line[key] = value;
    }
  }
  // Invalid UTF-8 from a plugin or a client must not throw out of the logger.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  util::MutexLock lock(g_write_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

bool parse_level(std::string_view text, Level& out) noexcept {
  if (text == "debug") {
    out = Level::debug;
  } else if (text == "info") {
    out = Level::info;
  } else if (text == "warn") {
    out = Level::warn;
  } else if (text == "error") {
    out = Level::error;
  } else {
    return false;
  }
  return true;
}

}  // namespace osbd::log

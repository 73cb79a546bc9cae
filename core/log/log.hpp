#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace osbd::log {

/// Severity of a log line.
enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

/// Where log lines go instead of stderr (osbd-plugin-host sends them to osbd over its channel).
using Forwarder = void (*)(Level level, std::string_view message, const nlohmann::json& fields);

/// Sends every line that passes the level to forwarder instead of stderr; nullptr: stderr again.
void set_forwarder(Forwarder forwarder) noexcept;

/// Lines below this level are dropped; default info.
void set_min_level(Level level) noexcept;

/// True when lines of this level are written; lets hot paths skip building fields.
bool enabled(Level level) noexcept;

/// Writes one JSON object per line to stderr: {"time","level","msg", ...fields}. Thread-safe.
/// Callers never pass secrets; the fields are written as given.
void write(Level level, std::string_view message, const nlohmann::json& fields = {});

/// Shorthand for write(Level::info, ...).
inline void info(std::string_view message, const nlohmann::json& fields = {}) {
  write(Level::info, message, fields);
}
/// Shorthand for write(Level::warn, ...).
inline void warn(std::string_view message, const nlohmann::json& fields = {}) {
  write(Level::warn, message, fields);
}
/// Shorthand for write(Level::error, ...).
inline void error(std::string_view message, const nlohmann::json& fields = {}) {
  write(Level::error, message, fields);
}
/// Shorthand for write(Level::debug, ...).
inline void debug(std::string_view message, const nlohmann::json& fields = {}) {
  write(Level::debug, message, fields);
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds ("2026-12-03T10:07:50.123Z"): what log
/// shippers parse without configuration.
std::string rfc3339_ms(int64_t unix_ms);

/// Parses "debug" | "info" | "warn" | "error"; false if unknown.
bool parse_level(std::string_view text, Level& out) noexcept;

}  // namespace osbd::log

#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "osb/sdk/errors.hpp"

namespace osb::sdk {

/// Reads a plugin's configuration object key by key and remembers which keys were read, so that
/// a misspelt key can be rejected. Every error is a ConfigError of the form "key: reason".
class ConfigReader {
 public:
  /// Wraps config, which must be a JSON object and must outlive the reader.
  explicit ConfigReader(const nlohmann::json& config) : config_(config) {
    if (!config_.is_object()) {
      throw ConfigError("configuration: expected a JSON object");
    }
  }

  /// True when key is present and not null.
  bool has(std::string_view key) const { return find(key) != nullptr; }

  /// The string at key, or fallback when it is absent.
  std::string string(std::string_view key, std::string fallback = {}) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) {
      return fallback;
    }
    if (!value->is_string()) {
      fail(key, "expected a string");
    }
    return value->get<std::string>();
  }

  /// The non-empty string at key; ConfigError when it is absent.
  std::string required_string(std::string_view key) {
    std::string value = string(key);
    if (value.empty()) {
      fail(key, has(key) ? "must not be empty" : "missing");
    }
    return value;
  }

  /// The boolean at key, or fallback when it is absent.
  bool boolean(std::string_view key, bool fallback) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) {
      return fallback;
    }
    if (!value->is_boolean()) {
      fail(key, "expected true or false");
    }
    return value->get<bool>();
  }

  /// The number (integer or not) at key, or fallback when it is absent.
  double number(std::string_view key, double fallback) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) {
      return fallback;
    }
    if (!value->is_number()) {
      fail(key, "expected a number");
    }
    return value->get<double>();
  }

  /// The integer at key, or fallback when it is absent.
  std::int64_t integer(std::string_view key, std::int64_t fallback) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) {
      return fallback;
    }
    if (!value->is_number_integer()) {
      fail(key, "expected an integer");
    }
    if (value->is_number_unsigned() &&
        value->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(key, "out of range");
    }
    return value->get<std::int64_t>();
  }

  /// The object at key, or {} when it is absent.
  nlohmann::json object(std::string_view key) {
    const nlohmann::json* value = take(key);
    if (value == nullptr) {
      return nlohmann::json::object();
    }
    if (!value->is_object()) {
      fail(key, "expected an object");
    }
    return *value;
  }

  /// Throws ConfigError naming the first key that no accessor has read.
  void reject_unknown_keys() const {
    for (const auto& item : config_.items()) {
      if (read_.count(item.key()) == 0) {
        fail(item.key(), "unknown configuration key");
      }
    }
  }

  /// Throws ConfigError("key: reason").
  [[noreturn]] static void fail(std::string_view key, std::string_view reason) {
    std::string message(key);
    message += ": ";
    message += reason;
    throw ConfigError(message);
  }

 private:
  const nlohmann::json* find(std::string_view key) const {
    auto it = config_.find(std::string(key));
    return it == config_.end() || it->is_null() ? nullptr : &*it;
  }

  const nlohmann::json* take(std::string_view key) {
    read_.emplace(key);
    return find(key);
  }

  const nlohmann::json& config_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace osb::sdk

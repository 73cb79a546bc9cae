#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <osb/sdk/config.hpp>
#include <osb/sdk/errors.hpp>

// Helpers for reading a plugin's configuration subtree on top of osb::sdk::ConfigReader. Every
// error is an osb::sdk::ConfigError "key: reason"; at_path prefixes the way to the key.

namespace osb::plugins {

/// Runs read and prefixes the key of any ConfigError it throws with path, so that an error deep
/// in the tree names the whole way to it ("services[0].plans[1].quota_mb: ...").
template <typename F>
auto at_path(const std::string& path, F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const osb::sdk::ConfigError& e) {
    throw osb::sdk::ConfigError(path + "." + e.what());
  }
}

/// value itself when it is an object; else ConfigError("expected a mapping") (for at_path).
nlohmann::json require_object(const nlohmann::json& value);

/// Removes key from object and returns its value, a list (empty when absent or null).
/// ConfigReader has no accessor for lists, so lists are taken out before it checks the keys.
nlohmann::json take_array(nlohmann::json& object, const std::string& key);

/// Like take_array for a list of non-empty strings.
std::vector<std::string> take_string_list(nlohmann::json& object, const std::string& key);

/// The integer at key (fallback when absent); ConfigError unless min <= value <= max.
std::int64_t integer_in(osb::sdk::ConfigReader& reader, const char* key, std::int64_t fallback,
                        std::int64_t min, std::int64_t max);

/// True for 1 to 255 letters, digits, '-', '.' and '_' (OSB's CLI-friendly names).
bool is_cli_friendly(std::string_view name);

/// The contents of the file at path without trailing newlines; ConfigError naming key when it
/// cannot be read or is empty.
std::string read_secret_file(const std::string& path, std::string_view key);

/// A secret given either inline at key or in a file named at key + "_file" (exactly one of
/// them), e.g. "admin_password" / "admin_password_file".
std::string read_secret(osb::sdk::ConfigReader& reader, const std::string& key);

/// The string at key of a state object (instance_state, binding_state), or "" when the state
/// is not an object or the value is not a string.
std::string state_string(const nlohmann::json& state, const char* key);

/// given when it is not empty, else state_string(state, key): e.g. a request's plan_id, else the
/// one its instance_state recorded.
std::string given_or_state(const std::string& given, const nlohmann::json& state, const char* key);

}  // namespace osb::plugins

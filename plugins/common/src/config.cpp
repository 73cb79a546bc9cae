#include "osb/plugins/config.hpp"

#include <fstream>
#include <sstream>
#include <utility>

namespace osb::plugins {

using osb::sdk::ConfigError;
using osb::sdk::ConfigReader;

nlohmann::json require_object(const nlohmann::json& value) {
  if (!value.is_object()) {
    throw ConfigError("expected a mapping");
  }
  return value;
}

nlohmann::json take_array(nlohmann::json& object, const std::string& key) {
  auto it = object.find(key);
  if (it == object.end()) {
    return nlohmann::json::array();
  }
  nlohmann::json value = std::move(*it);
  object.erase(it);
  if (value.is_null()) {
    return nlohmann::json::array();
  }
  if (!value.is_array()) {
    ConfigReader::fail(key, "expected a list");
  }
  return value;
}

std::vector<std::string> take_string_list(nlohmann::json& object, const std::string& key) {
  std::vector<std::string> out;
  const nlohmann::json list = take_array(object, key);
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string() || list[i].get_ref<const std::string&>().empty()) {
      ConfigReader::fail(key + "[" + std::to_string(i) + "]", "expected a non-empty string");
    }
    out.push_back(list[i].get<std::string>());
  }
  return out;
}

std::int64_t integer_in(ConfigReader& reader, const char* key, std::int64_t fallback,
                        std::int64_t min, std::int64_t max) {
  const std::int64_t value = reader.integer(key, fallback);
  if (value < min || value > max) {
    ConfigReader::fail(
        key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return value;
}

bool is_cli_friendly(std::string_view name) {
  if (name.empty() || name.size() > 255) {
    return false;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::string read_secret_file(const std::string& path, std::string_view key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigReader::fail(key, "cannot read \"" + path + "\"");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.empty()) {
    ConfigReader::fail(key, "\"" + path + "\" is empty");
  }
  return secret;
}

std::string read_secret(ConfigReader& reader, const std::string& key) {
  const std::string file_key = key + "_file";
  const bool inline_given = reader.has(key);
  const bool file_given = reader.has(file_key);
  if (inline_given && file_given) {
    ConfigReader::fail(file_key, "give " + key + " or " + file_key + ", not both");
  }
  if (file_given) {
    return read_secret_file(reader.required_string(file_key), file_key);
  }
  if (!inline_given) {
    ConfigReader::fail(key, "missing (or give " + file_key + ")");
  }
  return reader.required_string(key);
}

std::string state_string(const nlohmann::json& state, const char* key) {
  if (state.is_object()) {
    auto it = state.find(key);
    if (it != state.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  return {};
}

std::string given_or_state(const std::string& given, const nlohmann::json& state, const char* key) {
  return given.empty() ? state_string(state, key) : given;
}

}  // namespace osb::plugins

#include "plugin_host/settings.hpp"

#include <algorithm>

namespace osbd::plugin_host {

const char* to_string(Isolation isolation) noexcept {
  return isolation == Isolation::process ? "process" : "in-process";
}

const std::vector<std::string>& settings_keys() {
  static const std::vector<std::string> keys = {
      "isolation",        "call_timeout_seconds", "max_concurrent_calls",
      "queue_timeout_ms", "max_memory_mb",        "max_open_files"};
  return keys;
}

namespace {

// A non-negative integer, signed (as YAML gives it) or not (as JSON does).
template <typename T>
void read_number(const nlohmann::json& subtree, const char* key, T& out) {
  if (subtree.contains(key) && subtree.at(key).is_number_integer() &&
      subtree.at(key).get<long long>() >= 0) {
    out = subtree.at(key).get<T>();
  }
}

}  // namespace

PluginSettings settings_of(const nlohmann::json& subtree, Isolation default_isolation) {
  PluginSettings s;
  s.isolation = default_isolation;
  if (!subtree.is_object()) {
    return s;
  }
  if (subtree.contains("isolation") && subtree.at("isolation").is_string()) {
    s.isolation = subtree.at("isolation").get<std::string>() == "in-process" ? Isolation::in_process
                                                                             : Isolation::process;
  }
  read_number(subtree, "call_timeout_seconds", s.call_timeout_seconds);
  read_number(subtree, "max_concurrent_calls", s.max_concurrent_calls);
  read_number(subtree, "queue_timeout_ms", s.queue_timeout_ms);
  read_number(subtree, "max_memory_mb", s.max_memory_mb);
  read_number(subtree, "max_open_files", s.max_open_files);
  s.max_concurrent_calls = std::max(1u, s.max_concurrent_calls);
  return s;
}

nlohmann::json plugin_config_of(const nlohmann::json& subtree) {
  nlohmann::json out = subtree.is_object() ? subtree : nlohmann::json::object();
  for (const auto& key : settings_keys()) {
    out.erase(key);
  }
  return out;
}

}  // namespace osbd::plugin_host

#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "osb/sdk/errors.hpp"

/// Field readers shared by the request parsers; every failure is a RequestError naming the field.
namespace osb::sdk::detail {

/// Returns the member key of object, or nullptr when it is absent.
inline const nlohmann::json* find_field(const nlohmann::json& object, std::string_view key) {
  // A std::string key: heterogeneous lookup needs nlohmann/json 3.11, the SDK supports 3.10.
  auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &*it;
}

/// Throws RequestError("<key>: <reason>").
[[noreturn]] inline void field_error(std::string_view key, std::string_view reason) {
  std::string message(key);
  message += ": ";
  message += reason;
  throw RequestError(message);
}

/// Throws RequestError unless value is a JSON object (the top level of every request).
inline void require_object(const nlohmann::json& value) {
  if (!value.is_object()) {
    throw RequestError("request: expected a JSON object");
  }
}

/// A string field; "" when absent or null unless required.
inline std::string string_field(const nlohmann::json& object, std::string_view key,
                                bool required = false) {
  const nlohmann::json* value = find_field(object, key);
  if (value == nullptr || value->is_null()) {
    if (required) {
      field_error(key, "missing");
    }
    return {};
  }
  if (!value->is_string()) {
    field_error(key, "expected a string");
  }
  std::string text = value->get<std::string>();
  if (required && text.empty()) {
    field_error(key, "must not be empty");
  }
  return text;
}

/// An object field; {} when absent or null.
inline nlohmann::json object_field(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* value = find_field(object, key);
  if (value == nullptr || value->is_null()) {
    return nlohmann::json::object();
  }
  if (!value->is_object()) {
    field_error(key, "expected an object");
  }
  return *value;
}

/// An object field that may be null; null when absent.
inline nlohmann::json nullable_object_field(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* value = find_field(object, key);
  if (value == nullptr || value->is_null()) {
    return nullptr;
  }
  if (!value->is_object()) {
    field_error(key, "expected an object or null");
  }
  return *value;
}

/// A field of any JSON type; null when absent.
inline nlohmann::json any_field(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* value = find_field(object, key);
  return value == nullptr ? nlohmann::json() : *value;
}

/// A boolean field; false when absent or null.
inline bool bool_field(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* value = find_field(object, key);
  if (value == nullptr || value->is_null()) {
    return false;
  }
  if (!value->is_boolean()) {
    field_error(key, "expected a boolean");
  }
  return value->get<bool>();
}

}  // namespace osb::sdk::detail

#include "config/shape.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "schema/schema.hpp"
#include "util/json_parse.hpp"
#include "util/utf8.hpp"

namespace osbd::config::detail {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& file, const std::string& key, const std::string& reason) {
  throw ConfigError(file + ": " + (key.empty() ? std::string() : key + ": ") + reason);
}

std::string child_key(const std::string& key, const std::string& name) {
  return key.empty() ? name : key + "." + name;
}

// --- YAML to the JSON the schema sees ---

// Where a node is, for messages: the file and the dotted key.
struct At {
  const std::string& file;
  std::string key;
};

const std::string& utf8_text(const YAML::Node& node, const At& at) {
  if (!util::is_valid_utf8(node.Scalar())) {
    fail(at.file, at.key, "not valid UTF-8");
  }
  return node.Scalar();
}

// Scalars are typed by their text alone, so that the loader can read a key's text back unchanged:
// true/false, integers in plain decimal (nothing the loader would read differently), else text.
json scalar_json(const YAML::Node& node, const At& at) {
  const std::string& text = utf8_text(node, at);
  if (text == "true" || text == "false") {
    return text == "true";
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size() &&
      std::to_string(value) == text) {
    return value;
  }
  return text;
}

// A plugin's subtree is the plugin's to check: the schema sees only its kind.
json plugin_stub(const YAML::Node& node, const At& at) {
  if (node.IsMap()) {
    return json::object();
  }
  if (node.IsSequence()) {
    return json::array();
  }
  return node.IsScalar() ? scalar_json(node, at) : json(nullptr);
}

json shape_json(const YAML::Node& node, const At& at, std::size_t depth);

json map_json(const YAML::Node& node, const At& at, std::size_t depth) {
  const bool plugins = depth == 1 && at.key == "plugins";
  json out = json::object();
  for (const auto& item : node) {
    if (!item.first.IsScalar()) {
      fail(at.file, at.key, "a mapping key must be a string");
    }
    const std::string& name = utf8_text(item.first, at);
    const At child{at.file, child_key(at.key, name)};
    out[name] =
        plugins ? plugin_stub(item.second, child) : shape_json(item.second, child, depth + 1);
  }
  return out;
}

json shape_json(const YAML::Node& node, const At& at, std::size_t depth) {
  if (depth > util::kMaxJsonDepth) {
    fail(at.file, at.key, "nested deeper than " + std::to_string(util::kMaxJsonDepth) + " levels");
  }
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return map_json(node, at, depth);
    case YAML::NodeType::Sequence: {
      json out = json::array();
      std::size_t i = 0;
      for (const auto& item : node) {
        out.push_back(
            shape_json(item, {at.file, child_key(at.key, std::to_string(i++))}, depth + 1));
      }
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar_json(node, at);
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return nullptr;
}

// --- the schema, and its annotations for messages ---

struct ConfigSchema {
  json document;
  schema::Schema compiled;
};

const ConfigSchema& config_schema() {
  static const ConfigSchema instance = [] {
    json document = json::parse(config::schema_text());
    schema::Schema compiled = schema::Schema::compile(document);
    return ConfigSchema{std::move(document), std::move(compiled)};
  }();
  return instance;
}

// The schema osbd.schema.json's "$ref"s name: "#/definitions/NAME".
const json& resolve(const json& node) {
  const json* current = &node;
  while (current->is_object() && current->contains("$ref")) {
    const auto& ref = current->at("$ref").get_ref<const std::string&>();
    current = &config_schema().document.at(json::json_pointer(ref.substr(1)));
  }
  return *current;
}

// The subschema that describes the instance at tokens (unresolved), or nullptr.
const json* schema_at(const std::vector<std::string>& tokens, std::size_t count) {
  const json* node = &config_schema().document;
  for (std::size_t i = 0; i < count && node != nullptr; ++i) {
    const json& here = resolve(*node);
    const json* next = nullptr;
    if (const auto p = here.find("properties"); p != here.end() && p->contains(tokens[i])) {
      next = &p->at(tokens[i]);
    } else if (const auto a = here.find("additionalProperties");
               a != here.end() && a->is_object()) {
      next = &*a;
    } else if (const auto items = here.find("items"); items != here.end() && items->is_object()) {
      next = &*items;
    }
    node = next;
  }
  return node;
}

// A string annotation of a subschema or of the definition it refers to; "" when neither has it.
std::string annotation(const json* node, const char* name) {
  for (const json* candidate : {node, node == nullptr ? nullptr : &resolve(*node)}) {
    if (candidate != nullptr && candidate->contains(name) && candidate->at(name).is_string()) {
      return candidate->at(name).get<std::string>();
    }
  }
  return "";
}

// --- violations to key-named messages ---

std::vector<std::string> pointer_tokens(const std::string& pointer) {
  std::vector<std::string> tokens;
  std::size_t start = 1;
  while (start <= pointer.size()) {
    const std::size_t end = std::min(pointer.find('/', start), pointer.size());
    std::string token = pointer.substr(start, end - start);
    for (std::size_t at = 0; (at = token.find('~', at)) != std::string::npos; ++at) {
      token.replace(at, 2, token.compare(at, 2, "~1") == 0 ? "/" : "~");
    }
    tokens.push_back(std::move(token));
    start = end + 1;
  }
  return tokens;
}

std::string known_keys(const json* object_schema) {
  std::string list;
  const json& resolved = resolve(*object_schema);
  if (const auto properties = resolved.find("properties"); properties != resolved.end()) {
    for (auto it = properties->begin(); it != properties->end(); ++it) {
      list += (list.empty() ? "" : ", ") + it.key();
    }
  }
  return "unknown key (known keys: " + list + ")";
}

std::string type_message(const std::string& message) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"must be an object", "expected a mapping"},
      {"must be an object or null", "expected a mapping"},
      {"must be an array", "expected a list"},
      {"must be a string, an integer or a boolean", "expected a string"},
      {"must be an integer", "expected an integer"},
      {"must be a boolean", "expected true or false"},
  };
  for (const auto& [engine, yaml] : kTypes) {
    if (message == engine) {
      return yaml;
    }
  }
  return "";
}

// "must be at least 1" → "must be between 1 and 64" when the key has both bounds.
std::string range_message(const json* node, const std::string& message) {
  const bool bound =
      message.rfind("must be at least ", 0) == 0 || message.rfind("must be at most ", 0) == 0;
  if (node == nullptr || !bound) {
    return "";
  }
  const json& resolved = resolve(*node);
  if (!resolved.contains("minimum") || !resolved.contains("maximum")) {
    return "";
  }
  return "must be between " + resolved.at("minimum").dump() + " and " +
         resolved.at("maximum").dump();
}

std::string message_of(const schema::Violation& violation, const std::vector<std::string>& tokens) {
  const json* node = schema_at(tokens, tokens.size());
  const json* parent = tokens.empty() ? nullptr : schema_at(tokens, tokens.size() - 1);
  const std::string& message = violation.message;
  if (message == "is not allowed (unknown property)" && parent != nullptr) {
    return known_keys(parent);
  }
  if (message == "is required") {
    const std::string hint = annotation(node, "description");
    return hint.empty() ? "required" : "required (" + hint + ")";
  }
  if (message.rfind("property name ", 0) == 0 && parent != nullptr) {
    const json& here = resolve(*parent);
    const auto names = here.find("propertyNames");
    const std::string custom = names == here.end() ? "" : annotation(&*names, "errorMessage");
    return custom.empty() ? message : custom;
  }
  for (const std::string& candidate :
       {annotation(node, "errorMessage"), type_message(message), range_message(node, message)}) {
    if (!candidate.empty()) {
      return candidate;
    }
  }
  return message;
}

}  // namespace

void check_shape(const YAML::Node& root, const std::string& file) {
  const json document = shape_json(root, {file, ""}, 0);
  const auto violations = config_schema().compiled.validate(document, "", 1);
  if (violations.empty()) {
    return;
  }
  const auto tokens = pointer_tokens(violations.front().pointer);
  std::string key;
  for (const auto& token : tokens) {
    key = child_key(key, token);
  }
  fail(file, key, message_of(violations.front(), tokens));
}

}  // namespace osbd::config::detail

#include "config/config.hpp"

#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include <yaml-cpp/yaml.h>

#include "util/json_parse.hpp"
#include "util/utf8.hpp"

namespace osbd::config {
namespace {

using nlohmann::json;

// Context for messages: "FILE: KEY: reason".
struct Where {
  const std::string& file;
  std::string key;

  [[noreturn]] void fail(const std::string& reason) const {
    throw ConfigError(file + ": " + (key.empty() ? std::string() : key + ": ") + reason);
  }
  Where child(const std::string& name) const {
    return {file, key.empty() ? name : key + "." + name};
  }
};

void require_map(const YAML::Node& node, const Where& where) {
  if (!node.IsMap()) {
    where.fail("expected a mapping");
  }
}

void reject_unknown_keys(const YAML::Node& node, const Where& where,
                         const std::set<std::string>& known) {
  for (const auto& item : node) {
    const auto key = item.first.as<std::string>();
    if (known.count(key) == 0) {
      std::string list;
      for (const auto& k : known) {
        list += (list.empty() ? "" : ", ") + k;
      }
      where.child(key).fail("unknown key (known keys: " + list + ")");
    }
  }
}

// Every text of the configuration becomes JSON or a log field somewhere: it must be UTF-8.
const std::string& utf8_scalar(const YAML::Node& node, const Where& where) {
  if (!util::is_valid_utf8(node.Scalar())) {
    where.fail("not valid UTF-8");
  }
  return node.Scalar();
}

std::string scalar_string(const YAML::Node& node, const Where& where) {
  if (!node.IsScalar()) {
    where.fail("expected a string");
  }
  return utf8_scalar(node, where);
}

bool scalar_bool(const YAML::Node& node, const Where& where) {
  const std::string text = node.IsScalar() ? node.Scalar() : std::string();
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  where.fail("expected true or false");
}

uint64_t scalar_uint(const YAML::Node& node, const Where& where, uint64_t min, uint64_t max) {
  const std::string text = node.IsScalar() ? node.Scalar() : std::string();
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    where.fail("expected an integer");
  }
  if (value < min || value > max) {
    where.fail("must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return value;
}

std::string read_secret_file(const std::string& path, const Where& where) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    where.fail("cannot read '" + path + "'");
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string secret = buffer.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  return secret;
}

// Plugin subtrees go to plugins as JSON. Plain YAML scalars take their natural JSON type;
// quoted scalars stay strings, so an operator can force "0123" to be text.
// Nested deeper than util::kMaxJsonDepth fails naming where, like every JSON document osbd reads.
json to_json(const YAML::Node& node, const Where& where, std::size_t depth = 0) {
  if (depth > util::kMaxJsonDepth) {
    where.fail("nested deeper than " + std::to_string(util::kMaxJsonDepth) + " levels");
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) {
        out.push_back(to_json(item, where, depth + 1));
      }
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) {
        if (!item.first.IsScalar()) {
          where.fail("a mapping key must be a string");
        }
        out[utf8_scalar(item.first, where)] = to_json(item.second, where, depth + 1);
      }
      return out;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& text = utf8_scalar(node, where);
  if (node.Tag() == "!") {
    return text;
  }
  if (text == "true" || text == "false") {
    return text == "true";
  }
  if (text == "null" || text == "~") {
    return nullptr;
  }
  if (!text.empty()) {
    int64_t i = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
    if (ec == std::errc() && end == text.data() + text.size()) {
      return i;
    }
    double d = 0;
    auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (dec == std::errc() && dend == text.data() + text.size()) {
      return d;
    }
  }
  return text;
}

void read_auth(const YAML::Node& node, const Where& where, BasicCredentials& out) {
  require_map(node, where);
  reject_unknown_keys(node, where, {"username", "password", "password_file"});
  if (!node["username"]) {
    where.child("username").fail("required");
  }
  out.username = scalar_string(node["username"], where.child("username"));
  if (out.username.empty() || out.username.find(':') != std::string::npos) {
    where.child("username").fail("must be non-empty and contain no ':'");
  }
  if (node["password"] && node["password_file"]) {
    where.fail("give password or password_file, not both");
  }
  if (node["password"]) {
    out.password = scalar_string(node["password"], where.child("password"));
  } else if (node["password_file"]) {
    const Where file_where = where.child("password_file");
    out.password = read_secret_file(scalar_string(node["password_file"], file_where), file_where);
  } else {
    where.fail("password or password_file is required");
  }
  if (out.password.empty()) {
    where.child("password").fail("must not be empty");
  }
}

// name/description/metadata of a catalog entry, taken from node into overrides.
void read_overrides(const YAML::Node& node, const Where& where, json& overrides) {
  for (const char* key : {"name", "description"}) {
    if (node[key]) {
      overrides[key] = scalar_string(node[key], where.child(key));
      if (overrides[key].get_ref<const std::string&>().empty()) {
        where.child(key).fail("must not be empty");
      }
    }
  }
  if (node["metadata"]) {
    json metadata = to_json(node["metadata"], where.child("metadata"));
    if (!metadata.is_object()) {
      where.child("metadata").fail("expected a mapping (merged into the catalog's metadata)");
    }
    overrides["metadata"] = std::move(metadata);
  }
}

// One entry of services: or plans: — a bare id/name, or a mapping with `key` and overrides.
template <typename Selection>
Selection read_selection(const YAML::Node& node, const Where& where, const char* key,
                         const std::set<std::string>& known) {
  Selection out;
  std::string* id = nullptr;
  if constexpr (std::is_same_v<Selection, PlanSelection>) {
    id = &out.plan;
  } else {
    id = &out.service;
  }
  if (node.IsScalar()) {
    *id = node.Scalar();
  } else {
    require_map(node, where);
    reject_unknown_keys(node, where, known);
    if (!node[key]) {
      where.child(key).fail("required (an id or a name)");
    }
    *id = scalar_string(node[key], where.child(key));
    read_overrides(node, where, out.overrides);
  }
  if (id->empty()) {
    where.child(key).fail("must not be empty");
  }
  return out;
}

bool valid_catalog_name(const std::string& name) {
  if (name.empty() || name.size() > 63) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '-' && c != '_'))) {
      return false;
    }
  }
  return true;
}

CatalogConfig read_catalog(const std::string& name, const YAML::Node& node, const Where& where) {
  CatalogConfig out;
  out.name = name;
  if (!valid_catalog_name(name)) {
    where.fail(
        "a catalog name is 1 to 63 of a-z, 0-9, '-' and '_', starting with a letter or digit");
  }
  if (node.IsNull()) {
    if (name != "default") {
      where.child("credentials").fail("required (the catalog's platform credentials)");
    }
    return out;
  }
  require_map(node, where);
  reject_unknown_keys(node, where, {"credentials", "services"});
  if (node["credentials"]) {
    const Where w = where.child("credentials");
    if (!node["credentials"].IsSequence() || node["credentials"].size() == 0) {
      w.fail("expected a list of {username, password or password_file}");
    }
    std::size_t i = 0;
    for (const auto& item : node["credentials"]) {
      BasicCredentials pair;
      read_auth(item, w.child(std::to_string(i++)), pair);
      out.credentials.push_back(std::move(pair));
    }
  } else if (name != "default") {
    where.child("credentials").fail("required (the catalog's platform credentials)");
  }
  if (node["services"]) {
    const Where w = where.child("services");
    if (!node["services"].IsSequence()) {
      w.fail("expected a list of services (ids or names, or mappings with service:)");
    }
    std::vector<ServiceSelection> services;
    std::size_t i = 0;
    for (const auto& item : node["services"]) {
      const Where sw = w.child(std::to_string(i++));
      auto service = read_selection<ServiceSelection>(
          item, sw, "service", {"service", "name", "description", "metadata", "plans"});
      if (item.IsMap() && item["plans"]) {
        const Where pw = sw.child("plans");
        if (!item["plans"].IsSequence()) {
          pw.fail("expected a list of plans (ids or names, or mappings with plan:)");
        }
        std::vector<PlanSelection> plans;
        std::size_t j = 0;
        for (const auto& plan : item["plans"]) {
          plans.push_back(
              read_selection<PlanSelection>(plan, pw.child(std::to_string(j++)), "plan",
                                            {"plan", "name", "description", "metadata"}));
        }
        service.plans = std::move(plans);
      }
      services.push_back(std::move(service));
    }
    out.services = std::move(services);
  }
  return out;
}

// catalogs: NAME → {credentials, services}. Puts the default catalog first and gives it auth.
void read_catalogs(const YAML::Node* node, const Where& where, BrokerConfig& cfg) {
  CatalogConfig default_catalog;
  default_catalog.name = "default";
  std::vector<CatalogConfig> named;
  if (node != nullptr && !node->IsNull()) {
    require_map(*node, where);
    for (const auto& item : *node) {
      const auto name = scalar_string(item.first, where);
      CatalogConfig c = read_catalog(name, item.second, where.child(name));
      if (name == "default") {
        default_catalog = std::move(c);
      } else {
        named.push_back(std::move(c));
      }
    }
  }
  default_catalog.credentials.insert(default_catalog.credentials.begin(), cfg.auth);
  cfg.catalogs.clear();
  cfg.catalogs.push_back(std::move(default_catalog));
  for (auto& c : named) {
    cfg.catalogs.push_back(std::move(c));
  }
  // A username names one platform: the catalog a request reaches is the one its path names, and
  // its credentials must be that catalog's, so no pair may be shared (nor be the operator's).
  std::map<std::string, std::string> owner;  // username → who uses it, for the message
  if (cfg.admin) {
    owner[cfg.admin->username] = "admin";
  }
  for (const auto& c : cfg.catalogs) {
    std::set<std::string> own;
    for (const auto& pair : c.credentials) {
      if (!own.insert(pair.username).second) {
        continue;  // the same user twice in one catalog: rotation of its password
      }
      if (auto it = owner.find(pair.username); it != owner.end()) {
        where.child(c.name)
            .child("credentials")
            .fail("username '" + pair.username + "' is already used by " + it->second);
      }
      owner[pair.username] = "catalog '" + c.name + "'";
      if (cfg.admin && pair.password == cfg.admin->password) {
        where.child(c.name)
            .child("credentials")
            .fail("a catalog's password must differ from the admin password");
      }
    }
  }
}

void read_limits(const YAML::Node& node, const Where& where, BrokerConfig& cfg) {
  require_map(node, where);
  reject_unknown_keys(
      node, where,
      {"max_body_bytes", "max_body_bytes_in_flight", "max_connections", "io_threads",
       "worker_threads", "request_timeout_seconds", "poll_interval_ms"});
  if (node["max_body_bytes"]) {
    cfg.max_body_bytes = static_cast<std::size_t>(
        scalar_uint(node["max_body_bytes"], where.child("max_body_bytes"), 1024, 64u << 20));
  }
  if (node["max_body_bytes_in_flight"]) {
    cfg.max_body_bytes_in_flight = static_cast<std::size_t>(
        scalar_uint(node["max_body_bytes_in_flight"], where.child("max_body_bytes_in_flight"), 1024,
                    1ull << 40));
  }
  if (cfg.max_body_bytes_in_flight < cfg.max_body_bytes) {
    where.child("max_body_bytes_in_flight").fail("must be at least max_body_bytes");
  }
  if (node["max_connections"]) {
    cfg.max_connections = static_cast<std::size_t>(
        scalar_uint(node["max_connections"], where.child("max_connections"), 1, 1000000));
  }
  if (node["io_threads"]) {
    cfg.io_threads =
        static_cast<unsigned>(scalar_uint(node["io_threads"], where.child("io_threads"), 1, 64));
  }
  if (node["worker_threads"]) {
    cfg.worker_threads = static_cast<unsigned>(
        scalar_uint(node["worker_threads"], where.child("worker_threads"), 1, 256));
  }
  if (node["request_timeout_seconds"]) {
    cfg.request_timeout_seconds = static_cast<unsigned>(scalar_uint(
        node["request_timeout_seconds"], where.child("request_timeout_seconds"), 1, 3600));
  }
  if (node["poll_interval_ms"]) {
    cfg.poll_interval_ms = static_cast<unsigned>(
        scalar_uint(node["poll_interval_ms"], where.child("poll_interval_ms"), 50, 600000));
  }
}

}  // namespace

ListenAddress parse_listen(const std::string& text, const std::string& what) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    throw ConfigError(what + ": expected HOST:PORT, got '" + text + "'");
  }
  ListenAddress out;
  out.host = text.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    throw ConfigError(what + ": invalid port '" + port + "'");
  }
  out.port = static_cast<uint16_t>(value);
  return out;
}

// load_file without its translation of yaml-cpp's conversion errors.
static BrokerConfig read_file(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigError(path + ": cannot read the file");
  } catch (const YAML::Exception& e) {
    throw ConfigError(path + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " +
                      e.msg);
  }
  BrokerConfig cfg;
  cfg.source = path;
  const Where where{path, ""};
  require_map(root, where);
  reject_unknown_keys(root, where,
                      {"listen", "data_dir", "plugin_dir", "log_level", "auth", "admin", "tls",
                       "limits", "osb", "plugins", "credentials_encryption", "catalogs"});
  if (root["listen"]) {
    cfg.listen =
        parse_listen(scalar_string(root["listen"], where.child("listen")), path + ": listen");
  }
  if (root["data_dir"]) {
    cfg.data_dir = scalar_string(root["data_dir"], where.child("data_dir"));
  }
  if (root["plugin_dir"]) {
    cfg.plugin_dir = scalar_string(root["plugin_dir"], where.child("plugin_dir"));
  }
  if (root["log_level"]) {
    const Where w = where.child("log_level");
    if (!log::parse_level(scalar_string(root["log_level"], w), cfg.log_level)) {
      w.fail("expected debug, info, warn or error");
    }
  }
  if (!root["auth"]) {
    where.child("auth").fail("required (username and password of the platform)");
  }
  read_auth(root["auth"], where.child("auth"), cfg.auth);
  if (root["admin"]) {
    const Where w = where.child("admin");
    BasicCredentials admin;
    YAML::Node credentials = YAML::Clone(root["admin"]);
    if (credentials.IsMap() && credentials["listen"]) {
      cfg.admin_listen = parse_listen(scalar_string(credentials["listen"], w.child("listen")),
                                      path + ": admin.listen");
      credentials.remove("listen");
    }
    read_auth(credentials, w, admin);
    if (cfg.admin_listen && cfg.admin_listen->port != 0 &&
        cfg.admin_listen->port == cfg.listen.port) {
      w.child("listen").fail("must differ from listen (the OSB listener's port)");
    }
    if (admin.username == cfg.auth.username) {
      // Operators and platforms are told apart by the username alone, so a shared one would let
      // a platform's password be tried against the operator's endpoints.
      w.child("username").fail("must differ from auth.username (the platform's)");
    }
    if (admin.password == cfg.auth.password) {
      w.fail("the admin password must differ from the platform's");
    }
    cfg.admin = std::move(admin);
  }
  if (root["tls"]) {
    const Where w = where.child("tls");
    const YAML::Node& node = root["tls"];
    require_map(node, w);
    reject_unknown_keys(node, w, {"certificate_file", "private_key_file", "client_ca_file"});
    TlsFiles tls;
    for (const char* key : {"certificate_file", "private_key_file"}) {
      if (!node[key]) {
        w.child(key).fail("required");
      }
    }
    tls.certificate_file = scalar_string(node["certificate_file"], w.child("certificate_file"));
    tls.private_key_file = scalar_string(node["private_key_file"], w.child("private_key_file"));
    if (node["client_ca_file"]) {
      tls.client_ca_file = scalar_string(node["client_ca_file"], w.child("client_ca_file"));
    }
    cfg.tls = std::move(tls);
  }
  if (root["limits"]) {
    read_limits(root["limits"], where.child("limits"), cfg);
  }
  if (root["osb"]) {
    const Where w = where.child("osb");
    require_map(root["osb"], w);
    reject_unknown_keys(root["osb"], w, {"accept_context_only"});
    if (root["osb"]["accept_context_only"]) {
      cfg.accept_context_only =
          scalar_bool(root["osb"]["accept_context_only"], w.child("accept_context_only"));
    }
  }
  if (root["credentials_encryption"]) {
    const Where w = where.child("credentials_encryption");
    const YAML::Node& node = root["credentials_encryption"];
    require_map(node, w);
    reject_unknown_keys(node, w, {"key_file", "previous_key_files"});
    if (node["key_file"]) {
      cfg.credentials_key_file = scalar_string(node["key_file"], w.child("key_file"));
    }
    if (node["previous_key_files"]) {
      const Where files = w.child("previous_key_files");
      if (!node["previous_key_files"].IsSequence()) {
        files.fail("expected a list of key file paths");
      }
      for (const auto& item : node["previous_key_files"]) {
        cfg.credentials_previous_key_files.push_back(scalar_string(item, files));
      }
    }
  }
  const YAML::Node catalogs = root["catalogs"];
  read_catalogs(catalogs ? &catalogs : nullptr, where.child("catalogs"), cfg);
  if (root["plugins"]) {
    const Where w = where.child("plugins");
    const YAML::Node& plugins = root["plugins"];
    if (!plugins.IsNull()) {
      require_map(plugins, w);
      for (const auto& item : plugins) {
        const auto name = scalar_string(item.first, w);
        json sub = to_json(item.second, w.child(name));
        if (sub.is_null()) {
          sub = json::object();
        }
        if (!sub.is_object()) {
          w.child(name).fail("expected a mapping (the plugin's configuration)");
        }
        cfg.plugins[name] = std::move(sub);
      }
    }
  }
  return cfg;
}

BrokerConfig load_file(const std::string& path) {
  try {
    return read_file(path);
  } catch (const YAML::Exception& e) {
    // A node of an unexpected kind where a conversion was attempted (a list as a name, say).
    throw ConfigError(path + ": invalid configuration at line " + std::to_string(e.mark.line + 1) +
                      ": " + e.msg);
  }
}

}  // namespace osbd::config

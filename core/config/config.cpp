#include "config/config.hpp"

#include <charconv>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include <yaml-cpp/yaml.h>

#include "config/shape.hpp"
#include "util/json_parse.hpp"
#include "util/utf8.hpp"

// The shape of the file (keys, types, ranges) is checked against config/osbd.schema.json by
// detail::check_shape before anything is read; what follows reads the values and checks what the
// schema cannot say: rules across keys, password files, listen addresses.

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

// Every text of the configuration becomes JSON or a log field somewhere: it must be UTF-8.
const std::string& utf8_scalar(const YAML::Node& node, const Where& where) {
  if (!util::is_valid_utf8(node.Scalar())) {
    where.fail("not valid UTF-8");
  }
  return node.Scalar();
}

// The text of an optional scalar key (checked by the schema), or fallback.
std::string text(const YAML::Node& parent, const char* key, const std::string& fallback = "") {
  return parent && parent[key] ? parent[key].Scalar() : fallback;
}

// An optional integer key, in range per the schema.
template <typename T>
void read_uint(const YAML::Node& parent, const char* key, T& out) {
  if (parent && parent[key]) {
    out = static_cast<T>(std::stoull(parent[key].Scalar()));
  }
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

// A plain YAML scalar takes its natural JSON type; a quoted one stays a string, so that an
// operator can force "0123" to be text.
json natural_scalar(const YAML::Node& node, const Where& where) {
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

// Plugin subtrees (and catalog metadata) go to their readers as JSON, scalars typed by
// natural_scalar. Nested deeper than util::kMaxJsonDepth fails naming where, like every JSON
// document osbd reads.
json to_json(const YAML::Node& node, const Where& where, std::size_t depth = 0) {
  if (depth > util::kMaxJsonDepth) {
    where.fail("nested deeper than " + std::to_string(util::kMaxJsonDepth) + " levels");
  }
  json out = node.IsMap() ? json::object() : json::array();
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return natural_scalar(node, where);
    case YAML::NodeType::Sequence:
      for (const auto& item : node) {
        out.push_back(to_json(item, where, depth + 1));
      }
      return out;
    case YAML::NodeType::Map:
      for (const auto& item : node) {
        if (!item.first.IsScalar()) {
          where.fail("a mapping key must be a string");
        }
        out[utf8_scalar(item.first, where)] = to_json(item.second, where, depth + 1);
      }
      return out;
  }
  return nullptr;
}

void read_auth(const YAML::Node& node, const Where& where, BasicCredentials& out) {
  out.username = node["username"].Scalar();
  if (node["password"] && node["password_file"]) {
    where.fail("give password or password_file, not both");
  }
  if (node["password"]) {
    out.password = node["password"].Scalar();
  } else if (node["password_file"]) {
    const Where file_where = where.child("password_file");
    out.password = read_secret_file(node["password_file"].Scalar(), file_where);
  } else {
    where.fail("password or password_file is required");
  }
  if (out.password.empty()) {
    where.child("password").fail("must not be empty");
  }
}

// One entry of services: or plans: — a bare id/name, or a mapping with `key` and overrides
// (name, description, and metadata merged in).
template <typename Selection>
Selection read_selection(const YAML::Node& node, const Where& where, const char* key) {
  Selection out;
  std::string& id = [&out]() -> std::string& {
    if constexpr (std::is_same_v<Selection, PlanSelection>) {
      return out.plan;
    } else {
      return out.service;
    }
  }();
  if (node.IsScalar()) {
    id = node.Scalar();
    return out;
  }
  id = node[key].Scalar();
  for (const char* field : {"name", "description"}) {
    if (node[field]) {
      out.overrides[field] = node[field].Scalar();
    }
  }
  if (node["metadata"]) {
    out.overrides["metadata"] = to_json(node["metadata"], where.child("metadata"));
  }
  return out;
}

std::vector<PlanSelection> read_plans(const YAML::Node& node, const Where& where) {
  std::vector<PlanSelection> plans;
  std::size_t i = 0;
  for (const auto& item : node) {
    plans.push_back(read_selection<PlanSelection>(item, where.child(std::to_string(i++)), "plan"));
  }
  return plans;
}

std::vector<ServiceSelection> read_services(const YAML::Node& node, const Where& where) {
  std::vector<ServiceSelection> services;
  std::size_t i = 0;
  for (const auto& item : node) {
    const Where at = where.child(std::to_string(i++));
    auto service = read_selection<ServiceSelection>(item, at, "service");
    if (item.IsMap() && item["plans"]) {
      service.plans = read_plans(item["plans"], at.child("plans"));
    }
    services.push_back(std::move(service));
  }
  return services;
}

CatalogConfig read_catalog(const std::string& name, const YAML::Node& node, const Where& where) {
  CatalogConfig out;
  out.name = name;
  if (node.IsNull()) {
    return out;  // only "default" may be empty
  }
  std::size_t i = 0;
  for (const auto& item : node["credentials"]) {
    BasicCredentials pair;
    read_auth(item, where.child("credentials").child(std::to_string(i++)), pair);
    out.credentials.push_back(std::move(pair));
  }
  if (node["services"]) {
    out.services = read_services(node["services"], where.child("services"));
  }
  return out;
}

// A username names one platform: the catalog a request reaches is the one its path names, and
// its credentials must be that catalog's, so no pair may be shared (nor be the operator's).
void check_catalog_usernames(const BrokerConfig& cfg, const Where& where) {
  std::map<std::string, std::string> owner;  // username → who uses it, for the message
  if (cfg.admin) {
    owner[cfg.admin->username] = "admin";
  }
  for (const auto& c : cfg.catalogs) {
    const Where at = where.child(c.name).child("credentials");
    std::set<std::string> own;
    for (const auto& pair : c.credentials) {
      if (!own.insert(pair.username).second) {
        continue;  // the same user twice in one catalog: rotation of its password
      }
      if (auto it = owner.find(pair.username); it != owner.end()) {
        at.fail("username '" + pair.username + "' is already used by " + it->second);
      }
      owner[pair.username] = "catalog '" + c.name + "'";
      if (cfg.admin && pair.password == cfg.admin->password) {
        at.fail("a catalog's password must differ from the admin password");
      }
    }
  }
}

// catalogs: NAME → {credentials, services}. Puts the default catalog first and gives it auth.
void read_catalogs(const YAML::Node& node, const Where& where, BrokerConfig& cfg) {
  CatalogConfig default_catalog;
  default_catalog.name = "default";
  std::vector<CatalogConfig> named;
  if (node && !node.IsNull()) {
    for (const auto& item : node) {
      const auto name = item.first.Scalar();
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
  std::move(named.begin(), named.end(), std::back_inserter(cfg.catalogs));
  check_catalog_usernames(cfg, where);
}

void read_limits(const YAML::Node& node, const Where& where, BrokerConfig& cfg) {
  read_uint(node, "max_body_bytes", cfg.max_body_bytes);
  read_uint(node, "max_body_bytes_in_flight", cfg.max_body_bytes_in_flight);
  if (cfg.max_body_bytes_in_flight < cfg.max_body_bytes) {
    where.child("max_body_bytes_in_flight").fail("must be at least max_body_bytes");
  }
  read_uint(node, "max_connections", cfg.max_connections);
  read_uint(node, "io_threads", cfg.io_threads);
  read_uint(node, "worker_threads", cfg.worker_threads);
  read_uint(node, "request_timeout_seconds", cfg.request_timeout_seconds);
  read_uint(node, "poll_interval_ms", cfg.poll_interval_ms);
  read_uint(node, "shutdown_timeout_seconds", cfg.shutdown_timeout_seconds);
}

// admin: the operator's credentials, and the listener of its own (admin.listen), if any.
void read_admin(const YAML::Node& node, const Where& where, BrokerConfig& cfg) {
  BasicCredentials admin;
  if (node["listen"]) {
    cfg.admin_listen = parse_listen(node["listen"].Scalar(), where.file + ": admin.listen");
    if (cfg.admin_listen->port != 0 && cfg.admin_listen->port == cfg.listen.port) {
      where.child("listen").fail("must differ from listen (the OSB listener's port)");
    }
  }
  read_auth(node, where, admin);
  if (admin.username == cfg.auth.username) {
    // Operators and platforms are told apart by the username alone, so a shared one would let
    // a platform's password be tried against the operator's endpoints.
    where.child("username").fail("must differ from auth.username (the platform's)");
  }
  if (admin.password == cfg.auth.password) {
    where.fail("the admin password must differ from the platform's");
  }
  cfg.admin = std::move(admin);
}

void read_tls(const YAML::Node& node, BrokerConfig& cfg) {
  cfg.tls = TlsFiles{node["certificate_file"].Scalar(), node["private_key_file"].Scalar(),
                     text(node, "client_ca_file")};
}

void read_credentials_encryption(const YAML::Node& node, BrokerConfig& cfg) {
  if (!node) {
    return;
  }
  cfg.credentials_key_file = text(node, "key_file");
  for (const auto& item : node["previous_key_files"]) {
    cfg.credentials_previous_key_files.push_back(item.Scalar());
  }
}

// state.postgresql: where the shared store is; its password from password_file only.
void read_postgresql(const YAML::Node& node, const Where& where, state::PostgresOptions& out) {
  out.host = text(node, "host", out.host);
  read_uint(node, "port", out.port);
  out.database = text(node, "database", out.database);
  out.user = text(node, "user", out.user);
  out.password = read_secret_file(node["password_file"].Scalar(), where.child("password_file"));
  out.sslmode = text(node, "sslmode", out.sslmode);
  out.sslrootcert = text(node, "sslrootcert", out.sslrootcert);
  read_uint(node, "pool_size", out.pool_size);
  read_uint(node, "statement_timeout_ms", out.statement_timeout_ms);
  read_uint(node, "connect_timeout_seconds", out.connect_timeout_seconds);
  if ((out.sslmode == "verify-ca" || out.sslmode == "verify-full") && out.sslrootcert.empty()) {
    where.child("sslrootcert").fail("is required with sslmode " + out.sslmode);
  }
}

// state: the backend and this replica's settings. Every replica on PostgreSQL must seal with the
// same key, so a key that each would create for itself in its data_dir is refused.
void read_state(const YAML::Node& node, const Where& where, BrokerConfig& cfg) {
  if (!node) {
    return;
  }
  StateConfig& out = cfg.state;
  if (text(node, "backend", "sqlite") == "postgresql") {
    out.backend = StateBackend::postgresql;
  }
  out.replica_id = text(node, "replica_id");
  read_uint(node, "lease_seconds", out.lease_seconds);
  if (out.backend != StateBackend::postgresql) {
    if (node["postgresql"]) {
      where.child("postgresql").fail("is only read with backend: postgresql");
    }
    return;
  }
  if (!node["postgresql"]) {
    where.child("postgresql").fail("is required with backend: postgresql");
  }
  read_postgresql(node["postgresql"], where.child("postgresql"), out.postgresql);
  if (cfg.credentials_key_file.empty()) {
    Where{where.file, "credentials_encryption.key_file"}.fail(
        "is required with state.backend postgresql: every replica must seal credentials with "
        "the same key");
  }
}

// usage: sampling and retention of the usage history.
void read_usage(const YAML::Node& node, const Where& where, UsageConfig& out) {
  if (!node) {
    return;
  }
  read_uint(node, "sample_seconds", out.sample_seconds);
  // Samples roll up into hours: a sample that straddled two would count in the first.
  if (out.sample_seconds != 0 && 3600 % out.sample_seconds != 0) {
    where.child("sample_seconds").fail("must divide 3600 (an hour), or be 0");
  }
  read_uint(node, "raw_hours", out.raw_hours);
  read_uint(node, "hourly_days", out.hourly_days);
  read_uint(node, "daily_days", out.daily_days);
}

// plugins: NAME → its subtree as JSON; an empty subtree is {}.
void read_plugins(const YAML::Node& node, const Where& where, BrokerConfig& cfg) {
  for (const auto& item : node) {
    const auto name = item.first.Scalar();
    json sub = to_json(item.second, where.child(name));
    cfg.plugins[name] = sub.is_null() ? json::object() : std::move(sub);
  }
}

// plugin_trust: trusted_keys (PEM files or inline PEM) and require_signed.
void read_plugin_trust(const YAML::Node& node, BrokerConfig& cfg) {
  if (!node) {
    return;
  }
  for (const auto& item : node["trusted_keys"]) {
    cfg.plugin_trust.trusted_keys.push_back(item.Scalar());
  }
  cfg.plugin_trust.require_signed = text(node, "require_signed") == "true";
}

YAML::Node parse_yaml(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigError(path + ": cannot read the file");
  } catch (const YAML::Exception& e) {
    throw ConfigError(path + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " +
                      e.msg);
  }
}

}  // namespace

plugin_host::LoadOptions plugin_load_options(const BrokerConfig& cfg) {
  plugin_host::LoadOptions options;
  options.default_isolation = plugin_host::Isolation::process;
  options.trust = cfg.plugin_trust;
  options.worker_threads = cfg.worker_threads;
  return options;
}

state::SealingOptions sealing_options(const BrokerConfig& cfg) {
  return {cfg.credentials_key_file, cfg.credentials_previous_key_files};
}

std::unique_ptr<state::Store> open_store(const BrokerConfig& cfg) {
  if (cfg.state.backend == StateBackend::postgresql) {
    return state::open_postgres_store(cfg.state.postgresql, sealing_options(cfg));
  }
  return state::open_sqlite_store(cfg.data_dir, sealing_options(cfg));
}

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
  const YAML::Node root = parse_yaml(path);
  detail::check_shape(root, path);
  const Where where{path, ""};
  BrokerConfig cfg;
  cfg.source = path;
  if (root["listen"]) {
    cfg.listen = parse_listen(root["listen"].Scalar(), path + ": listen");
  }
  cfg.data_dir = text(root, "data_dir", cfg.data_dir);
  cfg.plugin_dir = text(root, "plugin_dir", cfg.plugin_dir);
  if (root["log_level"] && !log::parse_level(root["log_level"].Scalar(), cfg.log_level)) {
    where.child("log_level").fail("expected debug, info, warn or error");
  }
  read_auth(root["auth"], where.child("auth"), cfg.auth);
  if (root["admin"]) {
    read_admin(root["admin"], where.child("admin"), cfg);
  }
  if (root["tls"]) {
    read_tls(root["tls"], cfg);
  }
  read_limits(root["limits"], where.child("limits"), cfg);
  cfg.accept_context_only = text(root["osb"], "accept_context_only") == "true";
  read_credentials_encryption(root["credentials_encryption"], cfg);
  read_state(root["state"], where.child("state"), cfg);
  read_usage(root["usage"], where.child("usage"), cfg.usage);
  read_catalogs(root["catalogs"], where.child("catalogs"), cfg);
  read_plugins(root["plugins"], where.child("plugins"), cfg);
  read_plugin_trust(root["plugin_trust"], cfg);
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

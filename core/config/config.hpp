#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "log/log.hpp"
#include "plugin_host/settings.hpp"
#include "state/store.hpp"

namespace osbd::config {

/// A start-up configuration error; the message names the file and the key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Where the HTTP listener binds.
struct ListenAddress {
  std::string host = "127.0.0.1";  ///< IPv4/IPv6 literal or "localhost"
  uint16_t port = 8080;            ///< 0 lets the kernel choose
};

/// One username/password pair accepted with HTTP Basic authentication.
struct BasicCredentials {
  std::string username;  ///< non-empty
  std::string password;  ///< non-empty; never logged
};

/// A plan a catalog shows, with its display overrides.
struct PlanSelection {
  std::string plan;  ///< plan id or name, within its service
  /// Replaces the plan's "name" and "description" and merges into its "metadata" (RFC 7386) in
  /// this catalog only; {} keeps the plugin's.
  nlohmann::json overrides = nlohmann::json::object();
};

/// A service a catalog shows, with its display overrides and the plans it shows.
struct ServiceSelection {
  std::string service;  ///< service id or name
  /// Replaces "name" and "description" and merges into "metadata" in this catalog only.
  nlohmann::json overrides = nlohmann::json::object();
  /// The plans shown, in this order; nullopt shows every plan of the service.
  std::optional<std::vector<PlanSelection>> plans;
};

/// One catalog: the OSB API under its own base path, its own credentials and selection.
struct CatalogConfig {
  /// "default" for /v2/..., else the NAME of /catalogs/NAME/v2/...
  std::string name;
  /// Accepted Basic credentials (several pairs for rotation). The default catalog also accepts
  /// the top-level auth.
  std::vector<BasicCredentials> credentials;
  /// What it shows; nullopt shows every service of every loaded plugin.
  std::optional<std::vector<ServiceSelection>> services;
};

/// HTTPS for the listener: PEM files.
struct TlsFiles {
  std::string certificate_file;  ///< the server's certificate chain, leaf first
  std::string private_key_file;  ///< its private key (unencrypted)
  std::string client_ca_file;    ///< when set, clients must present a certificate it signed
};

/// Which store keeps the broker's records (state: in the configuration).
enum class StateBackend {
  sqlite,      ///< embedded, in data_dir: one osbd process
  postgresql,  ///< a PostgreSQL database that several replicas share
};

/// state: the store, and this process's place among the replicas that share it.
struct StateConfig {
  StateBackend backend = StateBackend::sqlite;  ///< state.backend
  std::string replica_id;                       ///< "" until derived (host name and OSB port)
  unsigned lease_seconds = 10;                  ///< heartbeat silence after which others take over
  state::PostgresOptions postgresql;            ///< state.postgresql (backend postgresql)
};

/// usage: the usage history behind the metering report and the console's charts.
struct UsageConfig {
  unsigned sample_seconds = 900;  ///< how often each instance's usage is read; 0: never
  unsigned raw_hours = 48;        ///< raw samples kept, then rolled into hours
  unsigned hourly_days = 14;      ///< hourly rows kept, then rolled into days
  unsigned daily_days = 400;      ///< daily rows (and deleted instances' events) kept
};

/// The whole broker configuration, after defaults and command-line overrides.
struct BrokerConfig {
  std::string source;                          ///< file it was read from, for messages
  ListenAddress listen;                        ///< OSB listener
  std::string data_dir = "./var";              ///< state store directory
  std::string plugin_dir = "./build/plugins";  ///< every *.so in it is loaded
  log::Level log_level = log::Level::info;     ///< minimum log level
  BasicCredentials auth;                       ///< platform credentials
  /// Operator credentials for /metrics (and the admin API); never the platform's.
  std::optional<BasicCredentials> admin;
  /// Where the operator's listener binds (admin.listen): /metrics and /admin/... are served there
  /// only, not on the OSB listener. nullopt serves them on the OSB listener.
  std::optional<ListenAddress> admin_listen;
  /// HTTPS on the listener (OSB and operator endpoints alike); plain HTTP without it.
  std::optional<TlsFiles> tls;
  std::size_t max_body_bytes = 1024 * 1024;  ///< larger request bodies get 413
  /// Open connections per listener; more are answered 503 and closed at once.
  std::size_t max_connections = 10000;
  /// Bytes the request bodies being received may take together (per listener); over it, 503.
  std::size_t max_body_bytes_in_flight = 64u << 20;
  unsigned io_threads = 2;                ///< threads running the HTTP sessions
  unsigned worker_threads = 8;            ///< threads running store and plugin calls
  unsigned request_timeout_seconds = 60;  ///< read/write timeout of one request
  unsigned poll_interval_ms = 1000;       ///< how often unfinished async operations are polled
  /// After SIGTERM, osbd exits within this many seconds even with plugin calls in flight (their
  /// operations stay resumable).
  unsigned shutdown_timeout_seconds = 30;
  /// Accept provision/update requests that carry only `context`, without the deprecated
  /// organization_guid and space_guid fields.
  bool accept_context_only = false;
  /// plugin name → its config subtree, the broker's keys (plugin_host::settings_keys()) included.
  nlohmann::json plugins = nlohmann::json::object();
  /// plugin_trust: signatures and trusted keys for plugin files.
  plugin_host::TrustSettings plugin_trust;
  /// Named catalogs, and the default one ("default", first) with auth's credentials merged in.
  /// Always holds the default catalog.
  std::vector<CatalogConfig> catalogs;
  /// Key sealing binding credentials at rest; "" means data_dir/credentials.key (created).
  std::string credentials_key_file;
  /// Rotated-out keys, still read; records sealed with them are resealed at start-up.
  std::vector<std::string> credentials_previous_key_files;
  /// The state store and replica settings.
  StateConfig state;
  UsageConfig usage;  ///< usage:
};

/// Reads and validates a YAML config file: its shape against schema_text(), then the rules across
/// keys. Throws ConfigError naming the file and key on unknown keys, wrong types, out-of-range
/// values or an unreadable password file.
BrokerConfig load_file(const std::string& path);

/// The JSON Schema (draft-07) every config file is checked against: config/osbd.schema.json,
/// compiled into osbd (and installed as share/osbd/osbd.schema.json).
std::string_view schema_text();

/// How osbd loads the plugins of cfg: each in a host process of its own unless its configuration
/// says in-process, with cfg's plugin_trust.
plugin_host::LoadOptions plugin_load_options(const BrokerConfig& cfg);

/// The keys sealing binding credentials, as cfg names them.
state::SealingOptions sealing_options(const BrokerConfig& cfg);

/// Opens the store cfg names (state.backend): the SQLite one in data_dir or the PostgreSQL one.
/// Throws state::StoreError when it cannot be opened.
std::unique_ptr<state::Store> open_store(const BrokerConfig& cfg);

/// Parses "HOST:PORT" or "[V6]:PORT". Throws ConfigError naming `what` on malformed input.
ListenAddress parse_listen(const std::string& text, const std::string& what);

}  // namespace osbd::config

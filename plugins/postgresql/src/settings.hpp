#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace osbd_postgresql {

/// One PostgreSQL server the plugin places databases on (an element of "servers").
struct ServerSettings {
  std::string name;                               ///< "name": how plans refer to the server
  std::string host;                               ///< "host": where the plugin connects
  std::int64_t port = 5432;                       ///< "port"
  std::string admin_user;                         ///< "admin_user": a superuser
  std::string admin_password;                     ///< "admin_password" or "admin_password_file"
  std::string sslmode = "prefer";                 ///< "sslmode": libpq sslmode
  std::string sslrootcert;                        ///< "sslrootcert": CA file for verify-*
  std::string maintenance_database = "postgres";  ///< "maintenance_database"
  std::int64_t connect_timeout_seconds = 5;       ///< "connect_timeout_seconds"
  std::string public_host;       ///< "public_host": host in credentials ("" = host)
  std::int64_t public_port = 0;  ///< "public_port": port in credentials (0 = port)

  /// The host applications connect to.
  const std::string& client_host() const { return public_host.empty() ? host : public_host; }
  /// The port applications connect to.
  std::int64_t client_port() const { return public_port == 0 ? port : public_port; }
};

/// One plan of a service (an element of "services[].plans").
struct PlanSettings {
  std::string id;                       ///< "id": a fixed GUID
  std::string name;                     ///< "name": CLI-friendly
  std::string description;              ///< "description"
  std::vector<std::string> servers;     ///< "servers": names of servers to place instances on
  std::int64_t connection_limit = -1;   ///< "connection_limit": per database; -1 = none
  std::int64_t quota_mb = 0;            ///< "quota_mb": storage quota; 0 = none
  std::vector<std::string> extensions;  ///< "extensions": what the parameter may ask for
  std::optional<bool> bindable;         ///< "bindable": overrides the service's flag
  bool free = true;                     ///< "free"
  nlohmann::json metadata;              ///< "metadata": merged into the catalog's plan metadata
};

/// One service offering (an element of "services").
struct ServiceSettings {
  std::string id;                   ///< "id": a fixed GUID
  std::string name;                 ///< "name": CLI-friendly
  std::string description;          ///< "description"
  bool bindable = true;             ///< "bindable"
  bool plan_updateable = true;      ///< "plan_updateable"
  std::vector<std::string> tags;    ///< "tags"
  nlohmann::json metadata;          ///< "metadata": merged into the catalog's service metadata
  std::vector<PlanSettings> plans;  ///< "plans": at least one
};

/// A plan together with the service it belongs to; both point into Settings.
struct PlanRef {
  const ServiceSettings* service = nullptr;  ///< the plan's service
  const PlanSettings* plan = nullptr;        ///< the plan
};

/// The plugin's configuration subtree. Empty configuration is valid and offers no services.
struct Settings {
  std::vector<ServerSettings> servers;            ///< "servers"
  std::vector<ServiceSettings> services;          ///< "services"
  std::chrono::seconds quota_check_interval{10};  ///< "quota_check_seconds"
  std::string name_prefix = "osb_";  ///< "name_prefix": first characters of every name made

  /// Reads config; throws osb::sdk::ConfigError("path.key: reason") when it is invalid.
  static Settings from_json(const nlohmann::json& config);

  /// The server called name, or nullptr.
  const ServerSettings* server(std::string_view name) const;
  /// The plan with id plan_id (of any service), or nullopt.
  std::optional<PlanRef> plan(std::string_view plan_id) const;
};

}  // namespace osbd_postgresql

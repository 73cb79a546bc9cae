#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <osb/plugins/offerings.hpp>
#include <osb/plugins/placement.hpp>
#include <osb/plugins/servers.hpp>

namespace osbd_mysql {

/// How the admin connection to a server uses TLS ("tls").
enum class TlsMode {
  disabled,         ///< plain TCP
  required,         ///< TLS, server certificate not checked
  verify_identity,  ///< TLS, certificate checked against tls_ca_file and the host name
};

/// One MySQL or MariaDB server the plugin places databases on (an element of "servers"): the
/// common keys (port 3306 by default) and these.
struct ServerSettings : osb::plugins::ServerInfo {
  TlsMode tls = TlsMode::disabled;  ///< "tls": disabled, required or verify_identity
  std::string tls_ca_file;          ///< "tls_ca_file": CA bundle for verify_identity
  std::string user_host = "%";      ///< "user_host": host part of the binding users' accounts
};

/// One plan of a service (an element of "services[].plans"): the common keys and these.
struct PlanSettings : osb::plugins::PlanInfo {
  std::int64_t max_user_connections = 0;  ///< "max_user_connections": per binding; 0 = none
  std::int64_t quota_mb = 0;              ///< "quota_mb": storage quota; 0 = none
};

/// One service offering (an element of "services") with its plans.
using ServiceSettings = osb::plugins::Service<PlanSettings>;

/// A plan together with the service it belongs to; both point into Settings.
using PlanRef = osb::plugins::PlanRef<PlanSettings>;

/// The plugin's configuration subtree. Empty configuration is valid and offers no services.
struct Settings : osb::plugins::DatabaseOfferings<ServerSettings, PlanSettings> {
  /// Reads config; throws osb::sdk::ConfigError("path.key: reason") when it is invalid.
  static Settings from_json(const nlohmann::json& config);
};

}  // namespace osbd_mysql

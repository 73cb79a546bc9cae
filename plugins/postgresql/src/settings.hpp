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

namespace osbd_postgresql {

/// One PostgreSQL server the plugin places databases on (an element of "servers"): the common
/// keys (port 5432 by default) and these.
struct ServerSettings : osb::plugins::ServerInfo {
  std::string sslmode = "prefer";                 ///< "sslmode": libpq sslmode
  std::string sslrootcert;                        ///< "sslrootcert": CA file for verify-*
  std::string maintenance_database = "postgres";  ///< "maintenance_database"
};

/// One plan of a service (an element of "services[].plans"): the common keys and these.
struct PlanSettings : osb::plugins::PlanInfo {
  std::int64_t connection_limit = -1;   ///< "connection_limit": per database; -1 = none
  std::int64_t quota_mb = 0;            ///< "quota_mb": storage quota; 0 = none
  std::vector<std::string> extensions;  ///< "extensions": what the parameter may ask for
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

}  // namespace osbd_postgresql

#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <osb/plugins/server_fleet.hpp>
#include <osb/sdk/backend.hpp>
#include <osb/sdk/host.hpp>

#include "names.hpp"
#include "quota_monitor.hpp"
#include "settings.hpp"

namespace sql {
class Driver;
}  // namespace sql

namespace osbd_mysql {

class AdminSession;
class DatabaseError;

/// Databases as a service on one or more MySQL 8 or MariaDB 10.11 servers. An instance is a
/// database (utf8mb4); a binding is a user with every privilege on that database only (no GRANT
/// OPTION) and the plan's MAX_USER_CONNECTIONS. All names derive from hashes of the ids (see
/// InstanceNames). Operations are synchronous, open their own connection and are safe to call
/// concurrently and to repeat.
class MysqlBackend final : public osb::sdk::Backend {
 public:
  /// Reads the configuration (throws osb::sdk::ConfigError) and starts the quota monitor.
  /// Servers are not contacted here, so osbd starts while a server is down.
  MysqlBackend(const nlohmann::json& config, osb::sdk::Host& host);
  /// Stops the quota monitor.
  ~MysqlBackend() override;

  /// The configured services and plans.
  nlohmann::json catalog() override;
  /// Creates the database on the least loaded server of the plan.
  osb::sdk::Result provision(const osb::sdk::ProvisionRequest& request) override;
  /// Drops every user and the database of the instance; unknown instances succeed.
  osb::sdk::Result deprovision(const osb::sdk::DeprovisionRequest& request) override;
  /// Applies a new plan's connection limit and quota.
  osb::sdk::Result update(const osb::sdk::UpdateRequest& request) override;
  /// Creates a user with a fresh random password; repeating it replaces the password.
  osb::sdk::Result bind(const osb::sdk::BindRequest& request) override;
  /// Drops the binding's user and ends its sessions.
  osb::sdk::Result unbind(const osb::sdk::UnbindRequest& request) override;
  /// The database's size (data plus index length), its plan's quota and whether it is over.
  osb::sdk::Result usage(const osb::sdk::UsageRequest& request) override;

 private:
  template <typename F>
  osb::sdk::Result guarded(const std::string& what, F&& body);
  osb::plugins::ServerLoad census(const ServerSettings& server, const std::string& database,
                                  bool count) const;
  void drop_account(AdminSession& session, const Account& account) const;

  Settings settings_;
  osb::sdk::Host& host_;
  sql::Driver& driver_;
  osb::plugins::ServerFleet<ServerSettings, PlanSettings, DatabaseError> fleet_;
  std::unique_ptr<QuotaMonitor> quota_monitor_;
};

}  // namespace osbd_mysql

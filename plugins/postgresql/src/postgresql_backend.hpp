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

namespace osbd_postgresql {

class DatabaseError;

/// Databases as a service on one or more PostgreSQL servers. An instance is a database owned by
/// a NOLOGIN role; a binding is a LOGIN role that is a member of it. All names derive from
/// hashes of the ids (see InstanceNames). Operations are synchronous, open their own
/// connections and are safe to call concurrently and to repeat.
class PostgresqlBackend final : public osb::sdk::Backend {
 public:
  /// Reads the configuration (throws osb::sdk::ConfigError) and starts the quota monitor.
  /// Servers are not contacted here, so osbd starts while a server is down.
  PostgresqlBackend(const nlohmann::json& config, osb::sdk::Host& host);
  /// Stops the quota monitor.
  ~PostgresqlBackend() override;

  /// The configured services and plans.
  nlohmann::json catalog() override;
  /// Creates the owner role and the database on the least loaded server of the plan.
  osb::sdk::Result provision(const osb::sdk::ProvisionRequest& request) override;
  /// Drops the database and every role of the instance; unknown instances succeed.
  osb::sdk::Result deprovision(const osb::sdk::DeprovisionRequest& request) override;
  /// Applies a new plan's connection limit and quota, and creates newly requested extensions.
  osb::sdk::Result update(const osb::sdk::UpdateRequest& request) override;
  /// Creates a LOGIN role with a fresh random password; repeating it replaces the password.
  osb::sdk::Result bind(const osb::sdk::BindRequest& request) override;
  /// Hands the binding's objects to the owner role, ends its sessions and drops it.
  osb::sdk::Result unbind(const osb::sdk::UnbindRequest& request) override;
  /// The database's size (pg_database_size), its plan's quota and whether it is over.
  osb::sdk::Result usage(const osb::sdk::UsageRequest& request) override;

 private:
  template <typename F>
  osb::sdk::Result guarded(const std::string& what, F&& body);
  osb::plugins::ServerLoad census(const ServerSettings& server, const std::string& database,
                                  bool count) const;
  void create_database(const ServerSettings& server, const InstanceNames& names,
                       const PlanSettings& plan, const std::vector<std::string>& extensions) const;
  void remove_instance(const ServerSettings& server, const InstanceNames& names) const;
  bool remove_binding(const ServerSettings& server, const InstanceNames& names,
                      const std::string& role) const;

  Settings settings_;
  osb::sdk::Host& host_;
  osb::plugins::ServerFleet<ServerSettings, PlanSettings, DatabaseError> fleet_;
  std::unique_ptr<QuotaMonitor> quota_monitor_;
};

}  // namespace osbd_postgresql

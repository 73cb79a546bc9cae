#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include <nlohmann/json.hpp>
#include <osb/sdk/backend.hpp>
#include <osb/sdk/host.hpp>

#include "example_catalog.hpp"

namespace osb_example {

/// The plugin's configuration subtree.
struct Settings {
  std::chrono::milliseconds async_duration{2000};  ///< "async_seconds"
  std::string service_name{default_service_name};  ///< "service_name"
  bool fail_provision = false;                     ///< "fail_provision"
  std::chrono::milliseconds sync_delay{0};         ///< "sync_delay_ms": simulated backend latency
  std::int64_t size_quota = 10;                    ///< "size_quota": sizes above it are over quota
  bool fail_deprovision = false;                   ///< "fail_deprovision"
  bool require_app_guid = false;                   ///< "require_app_guid": bind needs app_guid

  /// Reads config; throws osb::sdk::ConfigError naming the key for unknown keys or bad values.
  static Settings from_json(const nlohmann::json& config);
};

/// A service without a real backend: instances and bindings live in memory. Every operation
/// takes one mutex, so the backend is safe to call from several threads.
class ExampleBackend final : public osb::sdk::Backend {
 public:
  /// Reads the configuration; throws osb::sdk::ConfigError when it is invalid.
  ExampleBackend(const nlohmann::json& config, osb::sdk::Host& host);

  /// One service with the plans "sync" and "async".
  nlohmann::json catalog() override;
  /// Creates an instance (asynchronously on the async plan).
  osb::sdk::Result provision(const osb::sdk::ProvisionRequest& request) override;
  /// Deletes an instance and its bindings; unknown instances succeed.
  osb::sdk::Result deprovision(const osb::sdk::DeprovisionRequest& request) override;
  /// Changes plan and size (asynchronously on the async plan).
  osb::sdk::Result update(const osb::sdk::UpdateRequest& request) override;
  /// Creates credentials unique to the binding (asynchronously on the async plan).
  osb::sdk::Result bind(const osb::sdk::BindRequest& request) override;
  /// Deletes a binding; unknown bindings succeed.
  osb::sdk::Result unbind(const osb::sdk::UnbindRequest& request) override;
  /// Reports "in progress" until async_seconds have passed since the call, then finishes it.
  osb::sdk::Result poll(const osb::sdk::PollRequest& request) override;
  /// Reports the instance's size as its storage (1 GiB per unit) and whether it is above
  /// size_quota; unknown instances report nothing.
  osb::sdk::Result usage(const osb::sdk::UsageRequest& request) override;

 private:
  struct Instance {
    Plan plan = Plan::sync;
    std::int64_t size = default_size;
  };
  struct Binding {
    std::string instance_id;
    std::string username;
    std::string password;
  };

  // Each *_locked helper expects mutex_ to be held.
  nlohmann::json instance_result_locked(const std::string& instance_id);
  nlohmann::json binding_result_locked(const std::string& instance_id,
                                       const std::string& binding_id);
  void remove_instance_locked(const std::string& instance_id);
  std::string new_token_locked(osb::sdk::OperationKind kind,
                               std::optional<std::int64_t> size = std::nullopt);
  std::string random_password_locked();

  Settings settings_;
  osb::sdk::Host& host_;
  std::mutex mutex_;
  std::random_device random_;
  std::map<std::string, Instance> instances_;
  std::map<std::string, Binding> bindings_;
};

}  // namespace osb_example

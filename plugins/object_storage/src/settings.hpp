#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_transport.hpp"
#include "sigv4.hpp"
#include "storage_admin.hpp"

namespace osbd_object_storage {

/// A plan: its catalog fields and what a bucket of it gets.
struct PlanSettings {
  std::string id;                                      ///< fixed GUID
  std::string name;                                    ///< CLI-friendly
  std::string description;                             ///< text
  bool free = true;                                    ///< catalog "free"
  std::optional<bool> bindable;                        ///< overrides the service's flag
  nlohmann::json metadata = nlohmann::json::object();  ///< merged into the catalog's
  std::int64_t max_size_mb = 0;                        ///< quota on the bucket's size (0: none)
  std::int64_t max_objects = 0;                        ///< quota on its number of objects (0: none)
  bool delete_non_empty = true;  ///< false: deprovisioning a non-empty bucket is refused

  /// The quota the server enforces on a bucket of this plan.
  Quota quota() const;
};

/// A service offering with its plans.
struct ServiceSettings {
  std::string id;                                      ///< fixed GUID
  std::string name;                                    ///< CLI-friendly
  std::string description;                             ///< text
  bool bindable = true;                                ///< catalog flag
  bool plan_updateable = true;                         ///< catalog flag
  std::vector<std::string> tags;                       ///< catalog tags
  nlohmann::json metadata = nlohmann::json::object();  ///< merged into the catalog's
  std::vector<PlanSettings> plans;                     ///< at least one
};

/// A plan with its service.
struct PlanRef {
  const ServiceSettings* service = nullptr;  ///< the plan's service
  const PlanSettings* plan = nullptr;        ///< the plan
};

/// The plugin's configuration (its subtree of the osbd configuration).
struct Settings {
  Endpoint endpoint;                 ///< "endpoint": where the plugin talks S3 and Admin Ops
  std::string public_endpoint;       ///< "public_endpoint": what credentials carry
  std::string region = "us-east-1";  ///< "region": signing region, also in credentials
  Credentials admin;                 ///< "admin_access_key(_file)", "admin_secret_key(_file)"
  TlsOptions tls;                    ///< "tls_verify", "ca_file"
  std::chrono::milliseconds timeout{10000};  ///< "timeout_seconds"
  std::string name_prefix = "osb-";          ///< "name_prefix": first characters of generated names
  std::vector<ServiceSettings> services;     ///< "services"

  /// Reads and checks config; throws osb::sdk::ConfigError naming the key.
  static Settings from_json(const nlohmann::json& config);
  /// The plan with plan_id (of service_id when that is not empty).
  std::optional<PlanRef> plan(const std::string& plan_id, const std::string& service_id = {}) const;
};

}  // namespace osbd_object_storage

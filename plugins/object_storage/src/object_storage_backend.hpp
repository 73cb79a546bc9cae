#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <osb/sdk/backend.hpp>
#include <osb/sdk/host.hpp>

#include "bucket_policy.hpp"
#include "names.hpp"
#include "s3_client.hpp"
#include "settings.hpp"
#include "storage_admin.hpp"

namespace osbd_object_storage {

/// Buckets as a service on an S3-compatible server (Ceph RGW first). An instance is a bucket
/// owned by a user of its own; a binding is a user of its own with one key, granted read-write
/// or read-only on that bucket only through the bucket policy, and unable to create buckets.
/// Users, keys and quotas go through a StorageAdmin (RGW's Admin Ops API); buckets and
/// policies through plain S3. Names derive from hashes of the ids. Operations are
/// synchronous, safe to repeat and to call concurrently; changes of one bucket's policy are
/// serialized within this process.
class ObjectStorageBackend final : public osb::sdk::Backend {
 public:
  /// Reads the configuration (throws osb::sdk::ConfigError); contacts no server.
  ObjectStorageBackend(const nlohmann::json& config, osb::sdk::Host& host);
  /// Releases the clients.
  ~ObjectStorageBackend() override;

  /// The configured services and plans.
  nlohmann::json catalog() override;
  /// Creates the owner user and the bucket, and sets the plan's quota.
  osb::sdk::Result provision(const osb::sdk::ProvisionRequest& request) override;
  /// Empties and deletes the bucket and deletes every user of the instance (refused with 422
  /// for a non-empty bucket when the plan or the instance protects it).
  osb::sdk::Result deprovision(const osb::sdk::DeprovisionRequest& request) override;
  /// Applies the new plan's quota and the protect_non_empty parameter.
  osb::sdk::Result update(const osb::sdk::UpdateRequest& request) override;
  /// Creates the binding's user and key and grants it on the bucket.
  osb::sdk::Result bind(const osb::sdk::BindRequest& request) override;
  /// Deletes the binding's user (its key stops working at once) and its grant.
  osb::sdk::Result unbind(const osb::sdk::UnbindRequest& request) override;
  /// The bucket's size, object count and quota.
  osb::sdk::Result usage(const osb::sdk::UsageRequest& request) override;

 private:
  template <typename F>
  osb::sdk::Result guarded(const std::string& what, F&& body);
  S3Client client_for(const Credentials& credentials) const;
  Credentials owner_key(const InstanceNames& names);
  void change_grant(const InstanceNames& names, const std::string& principal,
                    std::optional<Access> access);
  std::mutex& policy_lock(const std::string& bucket);

  Settings settings_;
  osb::sdk::Host& host_;
  std::unique_ptr<StorageAdmin> admin_;
  std::array<std::mutex, 64> policy_locks_;
};

}  // namespace osbd_object_storage

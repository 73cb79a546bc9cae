#pragma once

#include <memory>

#include "s3_client.hpp"
#include "storage_admin.hpp"

namespace osbd_object_storage {

/// StorageAdmin on Ceph RGW's Admin Ops API (/admin/user, /admin/user?key, /admin/user?quota,
/// /admin/bucket, /admin/metadata/user), signed with an admin key whose user has the caps
/// users=*, buckets=*, metadata=read (or *), usage=read. Quotas are set as the owner's bucket
/// quota, which RGW checks on every write against the bucket's statistics.
class RgwAdmin final : public StorageAdmin {
 public:
  /// Calls the Admin Ops API through client (signed with the admin key).
  explicit RgwAdmin(S3Client client);

  void ensure_user(const std::string& uid, const std::string& display_name,
                   int max_buckets) override;
  std::optional<std::vector<Credentials>> user_keys(const std::string& uid) override;
  Credentials create_key(const std::string& uid) override;
  bool remove_user(const std::string& uid) override;
  std::vector<std::string> users_with_prefix(const std::string& prefix) override;
  void set_bucket_quota(const std::string& owner, const std::string& bucket,
                        const Quota& quota) override;
  std::optional<BucketUsage> bucket_usage(const std::string& bucket) override;
  bool remove_bucket(const std::string& bucket) override;
  std::string principal(const std::string& uid) const override;

 private:
  S3Response call(const std::string& method, const std::string& path,
                  std::vector<QueryParam> query) const;
  [[noreturn]] static void fail(const std::string& what, const S3Response& response);

  S3Client client_;
};

}  // namespace osbd_object_storage

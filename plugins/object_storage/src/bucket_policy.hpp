#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace osbd_object_storage {

/// What a binding may do in its bucket.
enum class Access {
  read_only,   ///< s3:GetObject, s3:ListBucket, s3:GetBucketLocation
  read_write,  ///< also put, delete and multipart uploads
};

/// "read-only" / "read-write".
const char* to_string(Access access);
/// The access named by text, or nullopt.
std::optional<Access> access_from_string(const std::string& text);

/// The grants of a bucket policy that this plugin manages, by principal (ARN), plus whatever
/// other statements the policy holds (kept as they are).
struct PolicyGrants {
  std::map<std::string, Access> grants;            ///< principal -> access
  nlohmann::json other = nlohmann::json::array();  ///< statements not managed here

  /// Reads a policy document (text); the statements with this plugin's Sids become grants.
  /// An empty text is an empty policy. Throws std::invalid_argument when text is not a policy.
  static PolicyGrants parse(const std::string& text);
  /// The policy document for bucket: one statement per access level that has principals,
  /// then the other statements; nullopt when there is nothing to grant (delete the policy).
  std::optional<std::string> render(const std::string& bucket) const;
};

}  // namespace osbd_object_storage

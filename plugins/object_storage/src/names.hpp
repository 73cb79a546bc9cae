#pragma once

#include <string>
#include <string_view>

namespace osbd_object_storage {

/// True when name is a DNS-compatible S3 bucket name: 3-63 characters of a-z 0-9 '.' '-',
/// starting and ending with a letter or digit, no "..", ".-" or "-.", not an IPv4 address,
/// not starting with "xn--" nor ending with "-s3alias" or "--ol-s3".
bool is_valid_bucket_name(std::string_view name);

/// True when prefix can start generated names: 1-16 characters of a-z 0-9 '-', starting with
/// a letter or digit.
bool is_valid_name_prefix(std::string_view prefix);

/// The server-side names of one instance, derived from a SHA-256 of its id (never the id
/// itself), so that they are DNS-compatible whatever the id holds and are found again from
/// the id alone (repeated or half-finished calls, lost state).
struct InstanceNames {
  std::string bucket;  ///< prefix + 24 hex digits of SHA-256(instance id)
  std::string owner;   ///< the user owning the bucket: the same string

  /// The names of instance_id under prefix.
  static InstanceNames of(const std::string& prefix, const std::string& instance_id);
  /// The first characters of every binding user of this instance.
  std::string binding_prefix() const { return owner + "-b-"; }
  /// The user of binding_id: binding_prefix() + 16 hex digits of SHA-256(binding id).
  std::string binding_user(const std::string& binding_id) const;
};

}  // namespace osbd_object_storage

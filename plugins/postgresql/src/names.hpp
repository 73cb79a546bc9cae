#pragma once

#include <string>
#include <string_view>

namespace osbd_postgresql {

/// The names of everything the plugin creates for one instance. They are derived from a hash of
/// the instance id, so whatever characters a platform puts into an id never reach SQL, and an
/// instance's objects can be found again from its id alone (also when half-created).
struct InstanceNames {
  std::string database;  ///< prefix + 24 hex digits of SHA-256(instance id)
  std::string owner;     ///< database + "_owner": the NOLOGIN role owning the database

  /// The names for instance_id under prefix (the configured name_prefix).
  static InstanceNames of(std::string_view prefix, std::string_view instance_id);

  /// The LOGIN role of a binding: database + "_b_" + 16 hex digits of SHA-256(binding id).
  std::string binding_role(std::string_view binding_id) const;

  /// A POSIX regular expression matching exactly the binding roles of this instance.
  std::string binding_role_pattern() const;
};

/// A POSIX regular expression matching exactly the database names made under prefix.
std::string database_pattern(std::string_view prefix);

/// A POSIX regular expression matching every role name (owners and bindings) made under prefix.
std::string role_pattern(std::string_view prefix);

}  // namespace osbd_postgresql

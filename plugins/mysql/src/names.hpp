#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace osbd_mysql {

/// Longest name_prefix: a binding user (prefix + 16 + 1 + 9 characters) must fit MySQL's
/// 32-character limit for user names (MariaDB allows 80).
inline constexpr std::size_t max_prefix_length = 6;

/// The names of everything the plugin creates for one instance. They are derived from a hash of
/// the instance id, so whatever characters a platform puts into an id never reach SQL, and an
/// instance's objects can be found again from its id alone (also when half-created).
struct InstanceNames {
  std::string database;   ///< prefix + 24 hex digits of SHA-256(instance id)
  std::string user_stem;  ///< prefix + the first 16 of those digits: how its users begin

  /// The names for instance_id under prefix (the configured name_prefix).
  static InstanceNames of(std::string_view prefix, std::string_view instance_id);

  /// The user of a binding: user_stem + "_" + 9 hex digits of SHA-256(binding id); at most 32
  /// characters.
  std::string binding_user(std::string_view binding_id) const;

  /// A regular expression (MySQL's REGEXP and POSIX ERE alike) matching exactly the binding
  /// users of this instance.
  std::string binding_user_pattern() const;
};

/// A regular expression matching exactly the database names made under prefix.
std::string database_pattern(std::string_view prefix);

/// The database holding the plugin's own bookkeeping (each instance's plan and quota), which no
/// binding can read: prefix + "meta" (no instance database can be called that).
std::string meta_database(std::string_view prefix);

}  // namespace osbd_mysql

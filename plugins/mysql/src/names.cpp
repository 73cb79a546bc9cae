#include "names.hpp"

#include <osb/plugins/codec.hpp>

namespace osbd_mysql {

namespace {

constexpr std::size_t database_hash_digits = 24;  // 96 bits
constexpr std::size_t user_stem_digits = 16;      // 64 bits
constexpr std::size_t binding_hash_digits = 9;    // 36 bits, unique within one instance

}  // namespace

InstanceNames InstanceNames::of(std::string_view prefix, std::string_view instance_id) {
  const std::string hash = osb::plugins::sha256_hex(instance_id);
  InstanceNames names;
  names.database = std::string(prefix) + hash.substr(0, database_hash_digits);
  names.user_stem = std::string(prefix) + hash.substr(0, user_stem_digits);
  return names;
}

std::string InstanceNames::binding_user(std::string_view binding_id) const {
  return user_stem + "_" + osb::plugins::sha256_hex(binding_id).substr(0, binding_hash_digits);
}

std::string InstanceNames::binding_user_pattern() const {
  // user_stem is [a-z0-9_] and hex digits: nothing in it is special in a regular expression.
  return "^" + user_stem + "_[0-9a-f]{" + std::to_string(binding_hash_digits) + "}$";
}

std::string database_pattern(std::string_view prefix) {
  return "^" + std::string(prefix) + "[0-9a-f]{" + std::to_string(database_hash_digits) + "}$";
}

std::string meta_database(std::string_view prefix) {
  return std::string(prefix) + "meta";
}

}  // namespace osbd_mysql

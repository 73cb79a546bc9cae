#include "names.hpp"

#include <osb/plugins/codec.hpp>

namespace osbd_postgresql {

namespace {

using osb::plugins::sha256_hex;

constexpr std::size_t instance_hash_digits = 24;  // 96 bits
constexpr std::size_t binding_hash_digits = 16;   // 64 bits, unique within one instance

}  // namespace

InstanceNames InstanceNames::of(std::string_view prefix, std::string_view instance_id) {
  InstanceNames names;
  names.database = std::string(prefix) + sha256_hex(instance_id).substr(0, instance_hash_digits);
  names.owner = names.database + "_owner";
  return names;
}

std::string InstanceNames::binding_role(std::string_view binding_id) const {
  return database + "_b_" + sha256_hex(binding_id).substr(0, binding_hash_digits);
}

std::string InstanceNames::binding_role_pattern() const {
  // database is a prefix of [a-z0-9_] and hex digits: nothing in it is special in a regex.
  return "^" + database + "_b_[0-9a-f]{" + std::to_string(binding_hash_digits) + "}$";
}

std::string database_pattern(std::string_view prefix) {
  return "^" + std::string(prefix) + "[0-9a-f]{" + std::to_string(instance_hash_digits) + "}$";
}

std::string role_pattern(std::string_view prefix) {
  return "^" + std::string(prefix) + "[0-9a-f]{" + std::to_string(instance_hash_digits) +
         "}_(owner|b_[0-9a-f]{" + std::to_string(binding_hash_digits) + "})$";
}

}  // namespace osbd_postgresql

#include "names.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace osbd_postgresql {

namespace {

constexpr std::size_t instance_hash_digits = 24;  // 96 bits
constexpr std::size_t binding_hash_digits = 16;   // 64 bits, unique within one instance

}  // namespace

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(digits[digest[i] >> 4]);
    hex.push_back(digits[digest[i] & 0x0f]);
  }
  return hex;
}

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

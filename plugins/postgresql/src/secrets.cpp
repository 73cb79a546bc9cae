#include "secrets.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include <osb/plugins/codec.hpp>

namespace osbd_postgresql {

namespace {

using osb::plugins::base64_encode;
using osb::plugins::hmac_sha256;

constexpr int scram_iterations = 4096;
constexpr std::size_t scram_salt_bytes = 16;
constexpr std::size_t sha256_bytes = 32;

std::string random_bytes(std::size_t size) {
  std::string out(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) != 1) {
    throw std::runtime_error("the random number generator failed");
  }
  return out;
}

// PBKDF2-HMAC-SHA256 of password with salt: SCRAM's SaltedPassword.
std::string salted_password(std::string_view password, std::string_view salt) {
  std::array<unsigned char, sha256_bytes> salted{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), scram_iterations, EVP_sha256(),
                        static_cast<int>(salted.size()), salted.data()) != 1) {
    throw std::runtime_error("PBKDF2 failed");
  }
  return std::string(reinterpret_cast<const char*>(salted.data()), salted.size());
}

}  // namespace

std::string scram_sha256_verifier(std::string_view password) {
  const std::string salt = random_bytes(scram_salt_bytes);
  const std::string salted = salted_password(password, salt);
  const std::string stored_key = osb::plugins::sha256(hmac_sha256(salted, "Client Key"));
  const std::string server_key = hmac_sha256(salted, "Server Key");
  return "SCRAM-SHA-256$" + std::to_string(scram_iterations) + ":" + base64_encode(salt) + "$" +
         base64_encode(stored_key) + ":" + base64_encode(server_key);
}

}  // namespace osbd_postgresql

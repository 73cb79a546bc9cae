#include "secrets.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace osbd_postgresql {

namespace {

constexpr int scram_iterations = 4096;
constexpr std::size_t scram_salt_bytes = 16;
constexpr std::size_t sha256_bytes = 32;

using Digest = std::array<unsigned char, sha256_bytes>;

void random_bytes(unsigned char* out, std::size_t size) {
  if (RAND_bytes(out, static_cast<int>(size)) != 1) {
    throw std::runtime_error("the random number generator failed");
  }
}

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

Digest hmac_sha256(const Digest& key, std::string_view message) {
  Digest out{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out.data(),
           &length) == nullptr ||
      length != out.size()) {
    throw std::runtime_error("HMAC-SHA-256 failed");
  }
  return out;
}

}  // namespace

std::string scram_sha256_verifier(std::string_view password) {
  std::array<unsigned char, scram_salt_bytes> salt{};
  random_bytes(salt.data(), salt.size());
  Digest salted{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), scram_iterations, EVP_sha256(),
                        static_cast<int>(salted.size()), salted.data()) != 1) {
    throw std::runtime_error("PBKDF2 failed");
  }
  const Digest client_key = hmac_sha256(salted, "Client Key");
  const Digest server_key = hmac_sha256(salted, "Server Key");
  Digest stored_key{};
  unsigned int length = 0;
  if (EVP_Digest(client_key.data(), client_key.size(), stored_key.data(), &length, EVP_sha256(),
                 nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  return "SCRAM-SHA-256$" + std::to_string(scram_iterations) + ":" +
         base64(salt.data(), salt.size()) + "$" + base64(stored_key.data(), stored_key.size()) +
         ":" + base64(server_key.data(), server_key.size());
}

}  // namespace osbd_postgresql

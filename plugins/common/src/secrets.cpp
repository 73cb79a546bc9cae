#include "osb/plugins/secrets.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace osb::plugins {

std::string random_password(std::size_t length) {
  // 62 letters and digits; bytes from 248 up are rejected so that every character is equally
  // likely (248 = 4 * 62).
  constexpr unsigned limit = 256 - 256 % password_alphabet.size();
  std::string password;
  password.reserve(length);
  std::array<unsigned char, 64> pool{};
  while (password.size() < length) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1) {
      throw std::runtime_error("the random number generator failed");
    }
    for (unsigned char byte : pool) {
      if (byte < limit && password.size() < length) {
        password.push_back(password_alphabet[byte % password_alphabet.size()]);
      }
    }
  }
  return password;
}

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

}  // namespace osb::plugins

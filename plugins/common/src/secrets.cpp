#include "osb/plugins/secrets.hpp"

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

}  // namespace osb::plugins

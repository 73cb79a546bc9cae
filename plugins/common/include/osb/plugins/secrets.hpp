#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace osb::plugins {

/// Characters of a generated password: letters and digits, so that it needs no escaping in a
/// URI, a JDBC URL, a connection string or an SQL literal.
inline constexpr std::string_view password_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of a generated password: 40 characters of 62, about 238 bits.
inline constexpr std::size_t password_length = 40;

/// A password of length characters from password_alphabet, drawn from OpenSSL's CSPRNG without
/// modulo bias. Throws std::runtime_error when the CSPRNG fails.
std::string random_password(std::size_t length = password_length);

}  // namespace osb::plugins

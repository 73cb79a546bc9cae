#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace osbd_postgresql {

/// Characters of a generated password: letters and digits, so that it needs no escaping in a
/// URI, a JDBC URL or a connection string.
inline constexpr std::string_view password_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of a generated password: 40 characters of 62, about 238 bits.
inline constexpr std::size_t password_length = 40;

/// A password of length characters from password_alphabet, drawn from OpenSSL's CSPRNG without
/// modulo bias. Throws std::runtime_error when the CSPRNG fails.
std::string random_password(std::size_t length = password_length);

/// The SCRAM-SHA-256 verifier PostgreSQL stores for password (RFC 7677, 4096 iterations, random
/// 16-byte salt), in PostgreSQL's text form "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:
/// <ServerKey>". Sending this instead of the password means the plain password never reaches the
/// server's statement log. password must be ASCII (SASLprep leaves it unchanged).
std::string scram_sha256_verifier(std::string_view password);

}  // namespace osbd_postgresql

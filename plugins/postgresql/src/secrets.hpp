#pragma once

#include <string>
#include <string_view>

namespace osbd_postgresql {

/// The SCRAM-SHA-256 verifier PostgreSQL stores for password (RFC 7677, 4096 iterations, random
/// 16-byte salt), in PostgreSQL's text form "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:
/// <ServerKey>". Sending this instead of the password means the plain password never reaches the
/// server's statement log. password must be ASCII (SASLprep leaves it unchanged).
std::string scram_sha256_verifier(std::string_view password);

}  // namespace osbd_postgresql

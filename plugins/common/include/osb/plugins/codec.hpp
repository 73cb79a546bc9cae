#pragma once

// Byte encodings and digests for every first-party plugin: hexadecimal, base64 (RFC 4648),
// SHA-256 and HMAC-SHA256, on OpenSSL. The core has its own (no C++ code crosses the plugin
// boundary).

#include <optional>
#include <string>
#include <string_view>

namespace osb::plugins {

/// Lowercase hexadecimal digits of bytes, two a byte.
std::string to_hex(std::string_view bytes);

/// bytes in base64 with padding (RFC 4648 section 4).
std::string base64_encode(std::string_view bytes);

/// The bytes of padded base64 text (RFC 4648 section 4), or nullopt when text is not that.
std::optional<std::string> base64_decode(std::string_view text);

/// SHA-256 of bytes: 32 raw bytes. Throws std::runtime_error when OpenSSL fails.
std::string sha256(std::string_view bytes);

/// SHA-256 of bytes as 64 lowercase hexadecimal digits.
std::string sha256_hex(std::string_view bytes);

/// HMAC-SHA256 of bytes under key: 32 raw bytes. Throws std::runtime_error when OpenSSL fails.
std::string hmac_sha256(std::string_view key, std::string_view bytes);

}  // namespace osb::plugins

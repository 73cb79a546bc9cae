#pragma once

// Byte encodings and digests, one implementation each for all of the core: hexadecimal,
// base64 (RFC 4648) and SHA-256. Plugins have their own copy in plugins/common (no C++ code
// crosses the plugin boundary).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace osbd::util {

/// The value of one hexadecimal digit (either case), or -1 when c is none.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// Lower-case hexadecimal digits of size bytes.
std::string to_hex(const std::uint8_t* bytes, std::size_t size);

/// Lower-case hexadecimal digits of the bytes of text.
std::string to_hex(std::string_view bytes);

/// Base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);

/// Decodes base64 in either alphabet (RFC 4648 §4 and the URL-safe §5), padding optional;
/// nullopt on any other character or an impossible length.
std::optional<std::string> base64_decode(std::string_view text);

using Sha256Digest = std::array<std::uint8_t, 32>;

/// SHA-256 of bytes.
Sha256Digest sha256(std::string_view bytes);

/// SHA-256 of bytes as 64 lower-case hexadecimal digits.
std::string sha256_hex(std::string_view bytes);

}  // namespace osbd::util

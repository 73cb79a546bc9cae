#pragma once
// A strict UTF-8 checker for the fuzz targets, written apart from osbd's own: it is what the
// targets compare osbd's answers with.

#include <cstddef>
#include <string_view>

namespace osbd_fuzz {

/// True when text is well-formed UTF-8 (Unicode 15, table 3-7): no overlong forms, no surrogates
/// (U+D800..U+DFFF), nothing above U+10FFFF, no truncated or stray continuation bytes.
inline bool strict_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned char low = 0x80;  // the allowed range of the second byte
    unsigned char high = 0xBF;
    if (b0 <= 0x7F) {
      ++i;
      continue;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      length = 3;
      low = b0 == 0xE0 ? 0xA0 : 0x80;   // E0 80..9F would be overlong
      high = b0 == 0xED ? 0x9F : 0xBF;  // ED A0..BF would be a surrogate
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      length = 4;
      low = b0 == 0xF0 ? 0x90 : 0x80;   // F0 80..8F would be overlong
      high = b0 == 0xF4 ? 0x8F : 0xBF;  // F4 90.. would be above U+10FFFF
    } else {
      return false;
    }
    if (text.size() - i < length) {
      return false;
    }
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    if (b1 < low || b1 > high) {
      return false;
    }
    for (std::size_t k = 2; k < length; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if (b < 0x80 || b > 0xBF) {
        return false;
      }
    }
    i += length;
  }
  return true;
}

}  // namespace osbd_fuzz

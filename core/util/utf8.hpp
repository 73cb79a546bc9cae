#pragma once

#include <cstddef>
#include <string_view>

namespace osbd::util {

/// True when text is well-formed UTF-8 as RFC 3629 defines it: no overlong forms, no UTF-16
/// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. Ids and header
/// values are held to this, so that distinct byte strings stay distinct wherever they go.
inline bool is_valid_utf8(std::string_view text) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = byte(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The length of the sequence and the range its second byte must fall in (Table 3-7 of the
    // Unicode standard); the bytes after the second are always 0x80..0xBF.
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c == 0xE0) {
      n = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      n = 3;
    } else if (c == 0xED) {
      n = 3, hi = 0x9F;
    } else if (c == 0xF0) {
      n = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = 4;
    } else if (c == 0xF4) {
      n = 4, hi = 0x8F;
    } else {
      return false;
    }
    if (text.size() - i < n || byte(i + 1) < lo || byte(i + 1) > hi) {
      return false;
    }
    for (std::size_t k = 2; k < n; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) {
        return false;
      }
    }
    i += n;
  }
  return true;
}

}  // namespace osbd::util

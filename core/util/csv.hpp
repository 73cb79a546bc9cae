#pragma once

#include <string>
#include <string_view>

namespace osbd::util {

/// text as one quoted CSV field (RFC 4180): in double quotes, each double quote doubled.
inline std::string csv_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

}  // namespace osbd::util

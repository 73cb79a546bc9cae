#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace osbd::util {

/// How deeply arrays and objects may nest in any JSON document osbd reads (request bodies,
/// plugin results, catalogs, stored records, configuration). OSB documents need a handful of
/// levels; the limit keeps every recursive walk (copy, dump, comparison) far from the stack's end.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// The nesting depth of a JSON text: the largest number of arrays and objects open at once,
/// outside strings. Stops counting (and returns limit + 1) as soon as limit is exceeded, so it
/// reads at most the text once. Says nothing about the text's validity.
inline std::size_t json_depth(std::string_view text, std::size_t limit) noexcept;

/// Parses text as JSON no deeper than max_depth. On failure returns nullopt and, when error is
/// given, sets it to a sentence for an OSB error description: "nested deeper than 64 levels" or
/// "not valid JSON" (never the text itself, which may hold secrets).
inline std::optional<nlohmann::json> parse_json(std::string_view text, std::string* error = nullptr,
                                                std::size_t max_depth = kMaxJsonDepth);

// --- definitions (header-only, so that every library of osbd can use it) ---

inline std::size_t json_depth(std::string_view text, std::size_t limit) noexcept {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) {
          return limit + 1;
        }
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

inline std::optional<nlohmann::json> parse_json(std::string_view text, std::string* error,
                                                std::size_t max_depth) {
  if (json_depth(text, max_depth) > max_depth) {
    if (error != nullptr) {
      *error = "nested deeper than " + std::to_string(max_depth) + " levels";
    }
    return std::nullopt;
  }
  // The parser takes a NUL byte for the end of the input, which would accept "{}\0garbage"; no
  // JSON text holds a raw NUL (inside strings it must be escaped).
  nlohmann::json value = text.find('\0') != std::string_view::npos
                             ? nlohmann::json(nlohmann::json::value_t::discarded)
                             : nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    if (error != nullptr) {
      *error = "not valid JSON";
    }
    return std::nullopt;
  }
  return value;
}

}  // namespace osbd::util

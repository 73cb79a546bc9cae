#pragma once

// URI references and JSON pointers, the two halves of a "$ref" value.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace osbd::schema::detail {

/// Resolves a URI reference against a base URI (RFC 3986 section 5.2). The base may itself be
/// relative or empty (a document without an id); the result is then relative too.
std::string resolve_uri(std::string_view base, std::string_view reference);

/// Splits a URI at its first '#': (document part, fragment without the '#').
std::pair<std::string, std::string> split_fragment(std::string_view uri);

/// Decodes %XX escapes; nullopt if a '%' is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

/// The unescaped tokens of a JSON pointer ("" is the whole document); nullopt if malformed.
std::optional<std::vector<std::string>> parse_pointer(std::string_view pointer);

/// Escapes one token for a JSON pointer (~ becomes ~0, / becomes ~1).
std::string escape_pointer_token(std::string_view token);

}  // namespace osbd::schema::detail

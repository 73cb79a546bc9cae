#pragma once

// ECMA 262 patterns on top of std::wregex. Strings are matched as UTF-32 code points (wchar_t is
// 32 bits on the platforms osbd targets), so "." and character classes see whole characters, as
// in an ECMA 262 regex with the "u" flag. The limits are listed in core/schema/README.md.

#include <optional>
#include <string>
#include <string_view>

#include "schema/node.hpp"

namespace osbd::schema::detail {

/// Compiles an ECMA 262 pattern; returns nullopt with why set if std::wregex refuses it.
std::optional<Pattern> compile_pattern(const std::string& source, std::string& why);

/// True when the pattern matches somewhere in text (patterns are not implicitly anchored).
bool pattern_matches(const Pattern& pattern, std::string_view text);

/// Decodes UTF-8 to UTF-32; malformed bytes become U+FFFD so that matching never fails.
std::wstring to_wide(std::string_view utf8);

/// Number of code points in a UTF-8 string (what minLength and maxLength count).
std::size_t code_point_count(std::string_view utf8);

}  // namespace osbd::schema::detail

#include "schema/regex.hpp"

#include <locale>
#include <regex>

namespace osbd::schema::detail {
namespace {

static_assert(sizeof(wchar_t) == 4, "patterns are matched on UTF-32 code points");

#if defined(__GLIBCXX__)
// libstdc++'s default (backtracking) executor recurses once per input character, so a long string
// from a request overflows the stack, and it backtracks exponentially on patterns like (a+)+$.
// __polynomial selects its Thompson-NFA executor instead: stack use bounded by the pattern, time
// linear in the input. It refuses back-references, which osbd therefore does not support.
constexpr auto kRegexFlags = std::regex_constants::ECMAScript | std::regex_constants::__polynomial;
#else
#error "osbd's pattern matching relies on libstdc++'s polynomial regex executor"
#endif

// Decimal digits at source[from...], at most limit + 1 of them counted.
std::size_t digits_at(const std::string& source, std::size_t from, std::size_t limit) {
  std::size_t n = 0;
  while (from + n < source.size() && n <= limit && source[from + n] >= '0' &&
         source[from + n] <= '9') {
    ++n;
  }
  return n;
}

// libstdc++ reads the number of a back-reference (\N) or of a repetition ({N}, {N,M}) into a
// long without an overflow check, and expands a repetition into that many states: such numbers
// are refused before it sees them. Back-references are refused later anyway (see kRegexFlags).
bool numbers_within_bounds(const std::string& source, std::string& why) {
  constexpr std::size_t kMaxReferenceDigits = 3;
  constexpr std::size_t kMaxRepeatDigits = 4;  // {9999} at most
  bool in_braces = false;
  for (std::size_t i = 0; i < source.size(); ++i) {
    const char c = source[i];
    if (c == '\\') {
      if (digits_at(source, i + 1, kMaxReferenceDigits) > kMaxReferenceDigits) {
        why = "a back-reference number is too long";
        return false;
      }
      ++i;  // the escaped character
    } else if (c == '{' || (c == ',' && in_braces)) {
      in_braces = true;
      if (digits_at(source, i + 1, kMaxRepeatDigits) > kMaxRepeatDigits) {
        why = "a repetition count is larger than 9999";
        return false;
      }
    } else if (c == '}') {
      in_braces = false;
    }
  }
  return true;
}

}  // namespace

std::wstring to_wide(std::string_view utf8) {
  std::wstring out;
  out.reserve(utf8.size());
  std::size_t i = 0;
  while (i < utf8.size()) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    std::size_t length = 0;
    char32_t cp = 0;
    if (lead < 0x80) {
      length = 1;
      cp = lead;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      cp = lead & 0x07;
    }
    bool ok = length != 0 && i + length <= utf8.size();
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto next = static_cast<unsigned char>(utf8[i + k]);
      ok = (next & 0xC0) == 0x80;
      cp = (cp << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are malformed too.
    if (ok && ((length == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
               (length == 4 && (cp < 0x10000 || cp > 0x10FFFF)))) {
      ok = false;
    }
    if (ok) {
      out.push_back(static_cast<wchar_t>(cp));
      i += length;
    } else {
      out.push_back(static_cast<wchar_t>(0xFFFD));
      ++i;
    }
  }
  return out;
}

std::size_t code_point_count(std::string_view utf8) {
  std::size_t count = 0;
  for (char c : utf8) {
    // Every code point has exactly one byte that is not a continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++count;
    }
  }
  return count;
}

std::optional<Pattern> compile_pattern(const std::string& source, std::string& why) {
  if (!numbers_within_bounds(source, why)) {
    return std::nullopt;
  }
  Pattern pattern;
  pattern.source = source;
  try {
    // The classic locale keeps \w, \d and \s to their ASCII meaning (as in ECMA 262) whatever
    // global locale the process runs with; imbue() must come before assign().
    pattern.regex.imbue(std::locale::classic());
    pattern.regex.assign(to_wide(source), kRegexFlags);
  } catch (const std::regex_error& e) {
    why = e.what();
    return std::nullopt;
  }
  return pattern;
}

bool pattern_matches(const Pattern& pattern, std::string_view text) {
  const std::wstring wide = to_wide(text);
  return std::regex_search(wide, pattern.regex);
}

}  // namespace osbd::schema::detail

#include "schema/format.hpp"

#include <cstddef>

namespace osbd::schema::detail {
namespace {

// Character classes are spelled out for ASCII: <cctype> depends on the locale and on the sign of
// char, and every format here is defined over ASCII only.
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}

/// Reads exactly `count` digits at pos into value; false if any is not a digit.
bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& value) {
  if (pos + count > text.size()) {
    return false;
  }
  value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (!is_digit(text[i])) {
      return false;
    }
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

bool is_leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

// RFC 3986 character classes.
bool is_unreserved(char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool is_sub_delim(char c) {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

/// True when every character of text is unreserved, a sub-delim, a valid %XX or one of extra.
bool uri_chars(std::string_view text, std::string_view extra) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) {
        return false;
      }
      i += 2;
    } else if (!is_unreserved(c) && !is_sub_delim(c) && extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool is_port(std::string_view text) {
  for (char c : text) {
    if (!is_digit(c)) {
      return false;
    }
  }
  return true;
}

/// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
bool is_ip_future(std::string_view text) {
  if (text.size() < 4 || (text[0] != 'v' && text[0] != 'V')) {
    return false;
  }
  std::size_t i = 1;
  while (i < text.size() && is_hex(text[i])) {
    ++i;
  }
  if (i == 1 || i >= text.size() || text[i] != '.' || i + 1 == text.size()) {
    return false;
  }
  for (++i; i < text.size(); ++i) {
    if (!is_unreserved(text[i]) && !is_sub_delim(text[i]) && text[i] != ':') {
      return false;
    }
  }
  return true;
}

/// authority = [ userinfo "@" ] host [ ":" port ]
bool is_authority(std::string_view text) {
  if (const auto at = text.find('@'); at != std::string_view::npos) {
    if (!uri_chars(text.substr(0, at), ":")) {
      return false;
    }
    text.remove_prefix(at + 1);
  }
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    const auto literal = text.substr(1, close - 1);
    if (!is_ipv6(literal) && !is_ip_future(literal)) {
      return false;
    }
    const auto rest = text.substr(close + 1);
    return rest.empty() || (rest[0] == ':' && is_port(rest.substr(1)));
  }
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return uri_chars(text, "");
  }
  return uri_chars(text.substr(0, colon), "") && is_port(text.substr(colon + 1));
}

/// One label of a domain name: letters, digits and inner hyphens (RFC 5321 sub-domain).
bool is_domain_label(std::string_view label) {
  if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) {
    return false;
  }
  for (char c : label) {
    if (!is_alnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

bool is_domain(std::string_view text) {
  std::size_t start = 0;
  while (true) {
    const auto dot = text.find('.', start);
    if (!is_domain_label(text.substr(start, dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

/// RFC 5322 atext: the characters of an unquoted local part besides the dots.
bool is_atext(char c) {
  return is_alnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

/// Groups of an IPv6 address between (or beside) "::"; counts them, an IPv4 tail as two.
bool read_ipv6_groups(std::string_view text, bool allow_ipv4_tail, int& count) {
  count = 0;
  if (text.empty()) {
    return true;
  }
  std::size_t start = 0;
  while (true) {
    const auto colon = text.find(':', start);
    const auto piece = text.substr(start, colon - start);
    if (colon == std::string_view::npos && allow_ipv4_tail &&
        piece.find('.') != std::string_view::npos) {
      if (!is_ipv4(piece)) {
        return false;
      }
      count += 2;
      return true;
    }
    if (piece.empty() || piece.size() > 4) {
      return false;
    }
    for (char c : piece) {
      if (!is_hex(c)) {
        return false;
      }
    }
    ++count;
    if (colon == std::string_view::npos) {
      return true;
    }
    start = colon + 1;
  }
}

}  // namespace

Format format_from_name(std::string_view name) {
  if (name == "date-time") {
    return Format::date_time;
  }
  if (name == "email") {
    return Format::email;
  }
  if (name == "ipv4") {
    return Format::ipv4;
  }
  if (name == "ipv6") {
    return Format::ipv6;
  }
  if (name == "uri") {
    return Format::uri;
  }
  return Format::none;
}

std::string_view format_noun(Format format) {
  switch (format) {
    case Format::date_time:
      return "an RFC 3339 date-time";
    case Format::email:
      return "an email address";
    case Format::ipv4:
      return "an IPv4 address";
    case Format::ipv6:
      return "an IPv6 address";
    case Format::uri:
      return "an absolute URI";
    case Format::none:
      break;
  }
  return "a value";
}

bool matches_format(Format format, std::string_view text) {
  switch (format) {
    case Format::date_time:
      return is_date_time(text);
    case Format::email:
      return is_email(text);
    case Format::ipv4:
      return is_ipv4(text);
    case Format::ipv6:
      return is_ipv6(text);
    case Format::uri:
      return is_uri(text);
    case Format::none:
      break;
  }
  return true;
}

bool is_date_time(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year) || text.size() < 20 || text[4] != '-' ||
      !read_digits(text, 5, 2, month) || text[7] != '-' || !read_digits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !read_digits(text, 11, 2, hour) || text[13] != ':' ||
      !read_digits(text, 14, 2, minute) || text[16] != ':' || !read_digits(text, 17, 2, second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  std::size_t pos = 19;
  if (text[pos] == '.') {
    const std::size_t first = ++pos;
    while (pos < text.size() && is_digit(text[pos])) {
      ++pos;
    }
    if (pos == first) {
      return false;
    }
  }
  if (pos >= text.size()) {
    return false;
  }
  int offset_minutes = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int offset_hour = 0, offset_minute = 0;
    if (!read_digits(text, pos + 1, 2, offset_hour) || pos + 3 >= text.size() ||
        text[pos + 3] != ':' || !read_digits(text, pos + 4, 2, offset_minute) || offset_hour > 23 ||
        offset_minute > 59) {
      return false;
    }
    offset_minutes = (offset_hour * 60 + offset_minute) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != text.size()) {
    return false;
  }
  if (second == 60) {
    // A leap second is inserted at the end of a UTC day, so 60 is only possible at 23:59 UTC.
    const int utc = ((hour * 60 + minute - offset_minutes) % 1440 + 1440) % 1440;
    return utc == 23 * 60 + 59;
  }
  return true;
}

bool is_email(std::string_view text) {
  std::size_t pos = 0;
  if (!text.empty() && text[0] == '"') {
    // Quoted-string of RFC 5321: printable ASCII except " and \, which need a backslash.
    for (pos = 1; pos < text.size() && text[pos] != '"'; ++pos) {
      const char c = text[pos];
      if (c == '\\') {
        if (pos + 1 >= text.size() || text[pos + 1] < 32 || text[pos + 1] > 126) {
          return false;
        }
        ++pos;
      } else if (c < 32 || c > 126) {
        return false;
      }
    }
    if (pos >= text.size()) {
      return false;
    }
    ++pos;
  } else {
    // Dot-string: atoms of atext joined by single dots.
    bool previous_dot = true;
    for (; pos < text.size() && text[pos] != '@'; ++pos) {
      if (text[pos] == '.') {
        if (previous_dot) {
          return false;
        }
        previous_dot = true;
      } else if (is_atext(text[pos])) {
        previous_dot = false;
      } else {
        return false;
      }
    }
    if (previous_dot) {
      return false;
    }
  }
  if (pos >= text.size() || text[pos] != '@') {
    return false;
  }
  const auto domain = text.substr(pos + 1);
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    // Address literals: IPv4, or IPv6 with its tag. General literals need an IANA-registered tag
    // and none besides IPv6 exists, so they are refused.
    const auto literal = domain.substr(1, domain.size() - 2);
    if (literal.substr(0, 5) == "IPv6:") {
      return is_ipv6(literal.substr(5));
    }
    return is_ipv4(literal);
  }
  return is_domain(domain);
}

bool is_ipv4(std::string_view text) {
  std::size_t start = 0;
  for (int part = 0; part < 4; ++part) {
    const auto dot = text.find('.', start);
    if ((part < 3) == (dot == std::string_view::npos)) {
      return false;
    }
    const auto octet = text.substr(start, dot - start);
    if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0')) {
      return false;
    }
    int value = 0;
    if (!read_digits(octet, 0, octet.size(), value) || value > 255) {
      return false;
    }
    start = dot + 1;
  }
  return true;
}

bool is_ipv6(std::string_view text) {
  if (text.empty()) {
    return false;
  }
  const auto gap = text.find("::");
  int count = 0;
  if (gap == std::string_view::npos) {
    return read_ipv6_groups(text, true, count) && count == 8;
  }
  if (text.find("::", gap + 1) != std::string_view::npos) {
    return false;
  }
  int right = 0;
  return read_ipv6_groups(text.substr(0, gap), false, count) &&
         read_ipv6_groups(text.substr(gap + 2), true, right) && count + right <= 7;
}

bool is_uri(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(text[0])) {
    return false;
  }
  for (char c : text.substr(0, colon)) {
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  auto rest = text.substr(colon + 1);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    if (!uri_chars(rest.substr(hash + 1), ":@/?")) {
      return false;
    }
    rest = rest.substr(0, hash);
  }
  if (const auto question = rest.find('?'); question != std::string_view::npos) {
    if (!uri_chars(rest.substr(question + 1), ":@/?")) {
      return false;
    }
    rest = rest.substr(0, question);
  }
  if (rest.substr(0, 2) == "//") {
    const auto path_start = rest.find('/', 2);
    if (!is_authority(rest.substr(2, path_start - 2))) {
      return false;
    }
    rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  }
  // path-abempty, path-absolute, path-rootless or path-empty: all are pchars and slashes once a
  // leading "//" has been taken as the authority.
  return uri_chars(rest, ":@/");
}

}  // namespace osbd::schema::detail

#pragma once

// Checks for the "format" values osbd asserts. Every other format is an annotation only: the
// drafts allow that, and a wrong check would refuse values the plan author meant to accept.

#include <cstdint>
#include <string_view>

namespace osbd::schema::detail {

/// The formats osbd checks; none for every other value of "format".
enum class Format : std::uint8_t { none, date_time, email, ipv4, ipv6, uri };

/// The checked format named by a "format" value, or none.
Format format_from_name(std::string_view name);

/// User-facing noun for a checked format, e.g. "an IPv4 address".
std::string_view format_noun(Format format);

/// True when text is a valid value of format (always true for Format::none).
bool matches_format(Format format, std::string_view text);

/// RFC 3339 date-time, e.g. 2024-02-29T12:00:00.5+01:00; a leap second only at 23:59:60 UTC.
bool is_date_time(std::string_view text);

/// RFC 5321 mailbox: dot-atom or quoted local part, host name or address-literal domain.
bool is_email(std::string_view text);

/// Dotted-quad IPv4 address (RFC 2673), decimal octets without leading zeros.
bool is_ipv4(std::string_view text);

/// IPv6 address in RFC 4291 text form, with "::" and an IPv4 tail; no zone index.
bool is_ipv6(std::string_view text);

/// Absolute URI per RFC 3986 (scheme required; relative references are not URIs).
bool is_uri(std::string_view text);

}  // namespace osbd::schema::detail

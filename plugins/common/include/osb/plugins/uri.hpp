#pragma once

#include <string>
#include <string_view>

namespace osb::plugins {

/// text with every byte outside RFC 3986's unreserved set (A-Z a-z 0-9 - . _ ~) and outside keep
/// percent-encoded as %XX with uppercase hex digits: credentials' URIs (keep empty) and SigV4's
/// URI encoding (keep "/" for object key paths).
std::string percent_encode(std::string_view text, std::string_view keep = {});

/// host as it goes into a URI authority: an IPv6 literal in brackets, anything else as is.
std::string uri_host(const std::string& host);

}  // namespace osb::plugins
